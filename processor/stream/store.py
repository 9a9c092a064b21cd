"""The per-trace store of the `stream` processor, shared by its traces- and logs-pipeline instances.

A trace is held for `wait` after its last piece, in an ordered dict by last touch (so the oldest deadline is
first). HTTP client spans of traces with no LLM call yet wait in a separate buffer, so that ordinary HTTP traffic
cannot push LLM traces out.

Everything held is bounded, and what is given up early is counted (`on_evict`, `on_drop`), never silently lost:
- `max_traces` traces; beyond it the oldest is evicted;
- `max_trace_pieces` pieces in one trace (LLM calls, HTTP attempts, log records waiting for their span); beyond
  it that trace is evicted, so a trace kept alive by a client cannot grow without end;
- `max_held_bytes` across all traces (the pieces' approximate sizes; a waiting log record is a copy, body and all);
  one trace holds at most a sixteenth of it, or it is evicted; beyond it HTTP-only traces are dropped first, then
  the least recently touched traces are evicted.
An evicted trace is put on `ready` and emitted all the same (its calls become records); the log records and HTTP
attempts it held for later joins are dropped (they went downstream already; only the join is lost) and counted.

A trace holding the request half of a call whose stream half is another span, still to come (Logfire writes it when
the stream ends), is held on, `wait` at a time, for up to `AWAIT_STREAM_S` from its first piece: a stream longer than
`wait` must not become two records. HTTP attempts to an LLM API (OpenLIT's httpx spans, exported when the headers
come) wait as long for their LLM span, which comes when the stream ends.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from processor.conventions.base import LlmCall
from processor.stream.work import HttpAttempt, TraceState

#: What an HTTP attempt takes, roughly (a call's size is its held form's: TraceState.put).
_HTTP_BYTES = 200
#: One trace holds at most this fraction of max_held_bytes, so that a trace kept growing is evicted, not the others.
_TRACE_SHARE = 16
#: How long a trace may wait for the stream half of a split call (a stream rarely runs longer).
AWAIT_STREAM_S = 300.0


class TraceStore:
    def __init__(self, wait_s: float, max_traces: int, on_evict: Callable[[str], None] = lambda reason: None, *,
                 max_trace_pieces: int = 1000, max_held_bytes: int = 64 << 20,
                 on_drop: Callable[[str, int], None] = lambda kind, count: None) -> None:
        self.wait_s = wait_s
        self.max_traces = max_traces
        self.max_trace_pieces = max_trace_pieces
        self.max_held_bytes = max_held_bytes
        self.on_evict = on_evict
        self.on_drop = on_drop
        self.held_bytes = 0
        self._traces: OrderedDict[bytes, TraceState] = OrderedDict()
        self._http_only: OrderedDict[bytes, tuple[float, list[HttpAttempt]]] = OrderedDict()
        self.ready: list[TraceState] = []  # evicted early, waiting to be emitted
        #: The instance that emits records (the first traces-pipeline instance to start).
        self.emitter: object | None = None

    def __len__(self) -> int:
        return len(self._traces)

    def get(self, trace_id: bytes) -> TraceState | None:
        return self._traces.get(trace_id)

    def touch(self, trace_id: bytes, now: float) -> TraceState:
        """The trace's state, created when new; its hold now ends `wait` from `now`."""
        state = self._traces.get(trace_id)
        if state is None:
            state = self._traces[trace_id] = TraceState(trace_id, first_seen=now)
            held = self._http_only.pop(trace_id, None)
            if held is not None:
                state.http = tuple(held[1])
                state.pieces += len(held[1])
                state.held_bytes += _HTTP_BYTES * len(held[1])
            if len(self._traces) > self.max_traces:
                self._evict(next(iter(self._traces.values())), "max_traces")
        else:
            self._traces.move_to_end(trace_id)
        state.deadline = now + self.wait_s
        return state

    def add_call(self, trace: TraceState, span_id: bytes, call: LlmCall) -> None:
        """Hold `call` (again, once a log joined it) as the trace's call of `span_id`."""
        self._grow(trace, *trace.put(span_id, call))

    def hold_log(self, trace: TraceState, log: Any) -> None:
        """Keep a copy of a log record whose span has not come, to join it when it does."""
        trace.pending_logs.setdefault(log.span_id, []).append(log)
        self._grow(trace, 1, log.ByteSize())

    def take_logs(self, trace: TraceState, span_id: bytes) -> list[Any]:
        """The log records waiting for `span_id`, no longer held."""
        logs = trace.pending_logs.pop(span_id, [])
        self._shrink(trace, len(logs), sum(log.ByteSize() for log in logs))
        return logs

    def take_log(self, trace: TraceState, log: Any) -> None:
        """One waiting log record is joined after all (to a call that ended before it was written)."""
        waiting = trace.pending_logs[log.span_id]
        waiting.remove(log)
        if not waiting:
            del trace.pending_logs[log.span_id]
        self._shrink(trace, 1, log.ByteSize())

    def add_http(self, trace_id: bytes, attempt: HttpAttempt, now: float) -> None:
        state = self._traces.get(trace_id)
        if state is not None:
            self.touch(trace_id, now)
            state.http += (attempt,)
            self._grow(state, 1, _HTTP_BYTES)
            return
        _, held = self._http_only.pop(trace_id, (0.0, []))
        held.append(attempt)
        self.held_bytes += _HTTP_BYTES
        if len(held) > self.max_trace_pieces:  # not stream data: dropping it only loses an SDK-retry join
            del held[0]
            self.held_bytes -= _HTTP_BYTES
            self.on_drop("http", 1)
        # An LLM API's attempt ends with the response headers: its LLM span comes when the stream ends, or never.
        hold = AWAIT_STREAM_S if any(a.llm_api for a in held) else self.wait_s
        self._http_only[trace_id] = (now + hold, held)
        if len(self._http_only) > self.max_traces:
            self._drop_oldest_http_only()
        self._bound_bytes()

    def pop_expired(self, now: float) -> list[TraceState]:
        """Traces whose hold has ended, and those evicted early."""
        done, self.ready = self.ready, []
        while self._traces:
            trace_id, state = next(iter(self._traces.items()))
            if state.deadline > now:
                break
            if state.awaits_stream() and now - state.first_seen < AWAIT_STREAM_S:
                self.touch(trace_id, now)  # its stream half is still to come: held on, behind the others
                continue
            del self._traces[trace_id]
            self.held_bytes -= state.held_bytes
            done.append(state)
        while self._http_only and next(iter(self._http_only.values()))[0] <= now:
            _, (_, held) = self._http_only.popitem(last=False)
            self.held_bytes -= _HTTP_BYTES * len(held)
        return [state for state in done if state.held]

    def pop_all(self) -> list[TraceState]:
        done = [*self.ready, *self._traces.values()]
        self.ready = []
        self._traces.clear()
        self._http_only.clear()
        self.held_bytes = 0
        return [state for state in done if state.held]

    def _grow(self, trace: TraceState, pieces: int, size: int) -> None:
        trace.pieces += pieces
        trace.held_bytes += size
        if self._traces.get(trace.trace_id) is not trace:
            return  # evicted already: on its way out, held by no one
        self.held_bytes += size
        if trace.pieces > self.max_trace_pieces:
            self._evict(trace, "max_trace_pieces")
        elif trace.held_bytes > self.max_held_bytes // _TRACE_SHARE:
            self._evict(trace, "max_held_bytes")  # before the least recent traces: it is the one growing
        self._bound_bytes()

    def _shrink(self, trace: TraceState, pieces: int, size: int) -> None:
        trace.pieces -= pieces
        trace.held_bytes -= size
        if self._traces.get(trace.trace_id) is trace:
            self.held_bytes -= size

    def _bound_bytes(self) -> None:
        while self.held_bytes > self.max_held_bytes:
            if self._http_only:
                self._drop_oldest_http_only()
            elif self._traces:
                self._evict(next(iter(self._traces.values())), "max_held_bytes")
            else:
                break

    def _drop_oldest_http_only(self) -> None:
        _, (_, held) = self._http_only.popitem(last=False)
        self.held_bytes -= _HTTP_BYTES * len(held)
        self.on_drop("http", len(held))

    def _evict(self, trace: TraceState, reason: str) -> None:
        """Emit `trace` early: its calls go out on the next emit; what it held only for later joins is dropped."""
        del self._traces[trace.trace_id]
        self.held_bytes -= trace.held_bytes
        waiting = sum(len(logs) for logs in trace.pending_logs.values())
        if waiting:
            self.on_drop("log", waiting)
        trace.pending_logs.clear()
        self.ready.append(trace)
        self.on_evict(reason)
