"""What travels between the stream processors: one `StreamWork` per streamed LLM call, on `batch.extra`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from processor.conventions.base import LlmCall
from processor.model.batch import Batch
from processor.model.records import StreamRecord

#: The key in `Batch.extra` under which the stream processors hand each other their work items.
WORK = "stream_work"


@dataclass(slots=True)
class HttpAttempt:
    """An HTTP client span (httpx `POST` etc.) under an LLM span: one attempt of an SDK-level retry loop."""

    span_id: bytes
    parent_span_id: bytes
    start: int
    end: int
    failed: bool
    attribute_keys: frozenset[str]


@dataclass(slots=True)
class TraceState:
    """The pieces of one trace held by `stream_reconstruct`."""

    trace_id: bytes
    deadline: float = 0.0
    calls: dict[bytes, LlmCall] = field(default_factory=dict)  # by span id, in arrival order
    http: list[HttpAttempt] = field(default_factory=list)
    pending_logs: dict[bytes, list[Any]] = field(default_factory=dict)  # gen_ai logs whose span has not come
    #: What the store counts against its bounds (TraceStore): calls, HTTP attempts and waiting logs, and their size
    pieces: int = 0
    held_bytes: int = 0

    def http_under(self, span_id: bytes) -> list[HttpAttempt]:
        return sorted((a for a in self.http if a.parent_span_id == span_id), key=lambda a: a.start)

    def streamed_calls(self) -> list[LlmCall]:
        return sorted((c for c in self.calls.values() if c.streaming is not False),
                      key=lambda c: c.record.start_time_unix_nano)


@dataclass(slots=True)
class StreamWork:
    call: LlmCall
    #: The record the processors fill: a copy of what the adapter read.
    record: StreamRecord
    trace: TraceState
    #: The OTLP span to enrich (receipt time), or None for a final record (emitted after `wait`).
    span: Any | None = None

    @property
    def final(self) -> bool:
        return self.span is None

    @classmethod
    def of(cls, call: LlmCall, trace: TraceState, span: Any | None = None) -> StreamWork:
        record = StreamRecord()
        record.CopyFrom(call.record)
        return cls(call, record, trace, span)


def works(batch: Batch) -> list[StreamWork]:
    return batch.extra.get(WORK, [])
