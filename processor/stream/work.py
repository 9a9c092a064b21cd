"""What the `stream` processor holds and derives from: each trace's pieces, and one `StreamWork` per streamed LLM
call at receipt and when its final record is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from processor.conventions.base import LlmCall, Piece, TtftClock
from processor.model.records import StreamRecord
from processor.stream.held import HeldCall, held_size, hold, restore
from processor.stream.joined_calls import one_per_call


@dataclass(slots=True)
class HttpAttempt:
    """An HTTP client span (httpx `POST` etc.) under an LLM span: one attempt of an SDK-level retry loop."""

    span_id: bytes
    parent_span_id: bytes
    start: int
    end: int
    failed: bool
    attribute_keys: frozenset[str]
    #: The URL is an LLM API's (`/chat/completions`, `/responses`, ...).
    llm_api: bool = False


@dataclass(slots=True)
class TraceState:
    """The pieces of one trace held by the `stream` processor. Its calls are held in a form Python's cyclic GC does not
    track (processor.stream.held): of a trace with no HTTP attempt or waiting log, only this state is tracked."""

    trace_id: bytes
    deadline: float = 0.0
    first_seen: float = 0.0  # monotonic time of the trace's first piece
    #: The LLM calls by span id, in arrival order, as held (`put`): read them with `call` and `calls`.
    held: dict[bytes, HeldCall] = field(default_factory=dict)
    http: tuple[HttpAttempt, ...] = ()
    pending_logs: dict[bytes, list[Any]] = field(default_factory=dict)  # gen_ai logs whose span has not come
    #: What the store counts against its bounds (TraceStore): calls, HTTP attempts and waiting logs, and their size
    pieces: int = 0
    held_bytes: int = 0
    #: Request halves of split calls held, less their stream halves (`awaits_stream`).
    open_requests: int = 0

    def put(self, span_id: bytes, call: LlmCall) -> tuple[int, int]:
        """Hold `call` as the call of `span_id` (the one held before, if any, replaced): (pieces, bytes) added."""
        held = hold(call)
        replaced = self.held.get(span_id)
        self.held[span_id] = held
        self.open_requests += _open_request(call.piece)
        if replaced is None:
            return 1, _size(held)
        self.open_requests -= _open_request(restore(replaced).piece)
        return 0, _size(held) - _size(replaced)

    def call(self, span_id: bytes) -> LlmCall | None:
        """The call held for `span_id`: a copy, held again only by `put`."""
        held = self.held.get(span_id)
        return None if held is None else restore(held)

    def calls(self) -> list[LlmCall]:
        """Every call held, in arrival order (copies, as `call`)."""
        return [restore(held) for held in self.held.values()]

    def awaits_stream(self) -> bool:
        """A call's request half is here and its stream half not yet (Logfire's log span comes at the stream's end)."""
        return self.open_requests > 0

    def http_under(self, span_id: bytes) -> list[HttpAttempt]:
        return sorted((a for a in self.http if a.parent_span_id == span_id), key=lambda a: a.start)

    def streamed_calls(self) -> list[LlmCall]:
        """One call per streamed LLM call, the spans a library split it into joined (processor.stream.joined_calls),
        by start time. A TTFT counted from after the response headers is anchored at the last HTTP attempt's end
        (when the headers came), so that it counts from the call's start, SDK retries included."""
        calls = [c for c in one_per_call(self.calls()) if c.streaming is not False]
        for call in calls:
            if call.ttft_clock is TtftClock.AFTER_HEADERS and call.reported_ttft_s is not None:
                attempts = self.http_under(call.record.span_id)
                call.ttft_from = attempts[-1].end if attempts and not attempts[-1].failed else None
        return calls

    def orphan_attempts(self) -> list[HttpAttempt]:
        """HTTP attempts of an LLM API whose parent span never arrived: a call the library did not export (OpenLIT
        ends a stream's span only when it completes)."""
        return [a for a in self.http if a.llm_api and a.parent_span_id not in self.held]


#: What a held call's bookkeeping takes, roughly, for TraceStore's max_held_bytes (its values add their size).
_CALL_BYTES = 600


def _size(held: HeldCall) -> int:
    return _CALL_BYTES + held_size(held)


def _open_request(piece: Piece) -> int:
    return 1 if piece is Piece.REQUEST else -1 if piece is Piece.STREAM else 0


@dataclass(slots=True)
class StreamWork:
    call: LlmCall
    #: The record the processors fill: a copy of what the adapter read.
    record: StreamRecord
    trace: TraceState
    #: The span read at receipt time, or None for a final record (emitted after `wait`): the decoded OTLP span, or
    #: for a batch of bytes the `LlmSpan` the wire core read (processor.conventions.span).
    span: Any | None = None
    #: `span` is not part of the batch's request (it was read from the batch's bytes): it is enriched through the
    #: batch (enrich.py).
    span_is_copy: bool = False

    @property
    def final(self) -> bool:
        return self.span is None

    @classmethod
    def of(cls, call: LlmCall, trace: TraceState, span: Any | None = None, *, span_is_copy: bool = False) \
            -> StreamWork:
        record = StreamRecord()
        record.CopyFrom(call.record)
        return cls(call, record, trace, span, span_is_copy)

