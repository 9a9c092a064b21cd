"""The per-trace store of `stream_reconstruct`, shared by its traces- and logs-pipeline instances.

A trace is held for `wait` after its last piece, in an ordered dict by last touch (so the oldest deadline is
first). Beyond `max_traces` the oldest trace is evicted early: counted, and put on `ready` to be emitted all
the same. HTTP client spans of traces with no LLM call yet wait in a separate, equally bounded buffer, so that
ordinary HTTP traffic cannot push LLM traces out.

A trace holding the request half of a call whose stream half is another span, still to come (Logfire writes it when
the stream ends), is held on, `wait` at a time, for up to `AWAIT_STREAM_S` from its first piece: a stream longer than
`wait` must not become two records. HTTP attempts to an LLM API (OpenLIT's httpx spans, exported when the headers
come) wait as long for their LLM span, which comes when the stream ends.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from processor.stream.work import HttpAttempt, TraceState

#: How long a trace may wait for the stream half of a split call (a stream rarely runs longer).
AWAIT_STREAM_S = 300.0


class TraceStore:
    def __init__(self, wait_s: float, max_traces: int, on_evict: Callable[[int], None] = lambda n: None) -> None:
        self.wait_s = wait_s
        self.max_traces = max_traces
        self.on_evict = on_evict
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
                state.http.extend(held[1])
            if len(self._traces) > self.max_traces:
                _, oldest = self._traces.popitem(last=False)
                self.ready.append(oldest)
                self.on_evict(1)
        else:
            self._traces.move_to_end(trace_id)
        state.deadline = now + self.wait_s
        return state

    def add_http(self, trace_id: bytes, attempt: HttpAttempt, now: float) -> None:
        state = self._traces.get(trace_id)
        if state is not None:
            state.http.append(attempt)
            self.touch(trace_id, now)
            return
        _, held = self._http_only.pop(trace_id, (0.0, []))
        held.append(attempt)
        # An LLM API's attempt ends with the response headers: its LLM span comes when the stream ends, or never.
        hold = AWAIT_STREAM_S if any(a.llm_api for a in held) else self.wait_s
        self._http_only[trace_id] = (now + hold, held)
        if len(self._http_only) > self.max_traces:
            self._http_only.popitem(last=False)  # not stream data: dropping it only loses an SDK-retry join

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
            done.append(state)
        while self._http_only and next(iter(self._http_only.values()))[0] <= now:
            self._http_only.popitem(last=False)
        return [state for state in done if state.calls]

    def pop_all(self) -> list[TraceState]:
        done = [*self.ready, *self._traces.values()]
        self.ready = []
        self._traces.clear()
        self._http_only.clear()
        return [state for state in done if state.calls]
