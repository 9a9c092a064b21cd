"""Reading a reference capture through the adapters, as the `stream` processor does: every span through
`read_llm_call`, then the log records joined to their span by span id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from processor.conventions import read_llm_call, select
from processor.conventions.base import LlmCall
from tests.data.realclients import Capture, load_capture

MS = 1_000_000


@dataclass
class Read:
    capture: Capture
    calls: list[tuple[Any, LlmCall]]  # (span, call) for every span read as an LLM call
    skipped: list[Any]  # spans not read as LLM calls

    @property
    def call(self) -> LlmCall:
        assert len(self.calls) == 1, [span.name for span, _ in self.calls]
        return self.calls[0][1]

    @property
    def span(self) -> Any:
        assert len(self.calls) == 1
        return self.calls[0][0]

    def client_first_chunk(self) -> int:
        return self.capture.client("chunk_received")[0]["t_unix_nano"]

    def client_chunk_count(self) -> int:
        return len(self.capture.client("chunk_received"))


def read_capture(lib: str, scenario: str, names: list[str] | None = None) -> Read:
    capture = load_capture(lib, scenario)
    conventions = select(names or ["auto"])
    by_name = {c.name: c for c in conventions}
    calls, skipped = [], []
    for span, resource, scope in capture.spans():
        call = read_llm_call(span, resource, scope, conventions)
        if call is None:
            skipped.append(span)
        else:
            calls.append((span, call))
    for log in capture.log_records():
        for span, call in calls:
            if log.span_id == span.span_id:
                by_name[call.record.convention].join_log(call, log)
    return Read(capture, calls, skipped)


def field(record: Any, name: str) -> Any:
    """A record field's value, None when unset (the record leaves unknowns out)."""
    return getattr(record, name) if record.HasField(name) else None
