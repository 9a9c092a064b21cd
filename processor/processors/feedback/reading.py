"""Feedback as it arrives: span events and log records with a configured name, read into `Feedback`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from processor.conventions.messages import event_name
from processor.model.otlp_attrs import as_float, find
from processor.processors.feedback.config import FeedbackConfig
from processor.wire import Claims

UP, DOWN = "up", "down"
_UP_WORDS = frozenset({"up", "1", "+1", "true", "yes", "positive", "like", "thumbs_up", "👍"})
_DOWN_WORDS = frozenset({"down", "-1", "false", "no", "negative", "dislike", "thumbs_down", "👎"})


@dataclass(slots=True)
class Feedback:
    trace_id: bytes
    span_id: bytes
    session: str
    time: int  # unix ns; 0 when unknown
    verdict: str | None
    score: float | None


class FeedbackReader:
    def __init__(self, config: FeedbackConfig) -> None:
        self.names = frozenset(config.event_names)
        self.score_key = config.score_attribute
        self.thumbs_key = config.thumbs_attribute
        self.down_at_most = config.down_at_most
        self.session_keys = list(config.session_attributes)
        #: Spans with a feedback event: a batch of bytes whose index claims none holds no feedback.
        self.span_claims = Claims(event_names=tuple(self.names))

    def from_spans(self, request: Any) -> Iterator[Feedback]:
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    for event in span.events:
                        if event.name in self.names:
                            time = event.time_unix_nano or span.end_time_unix_nano
                            yield self._read(span.trace_id, span.span_id, time,
                                             (event.attributes, span.attributes, rs.resource.attributes))

    def from_logs(self, request: Any) -> Iterator[Feedback]:
        for rl in request.resource_logs:
            for sl in rl.scope_logs:
                for log in sl.log_records:
                    name = event_name(log)
                    if name in self.names:
                        yield self._read(log.trace_id, log.span_id, log.time_unix_nano or log.observed_time_unix_nano,
                                         (log.attributes, rl.resource.attributes))

    def _read(self, trace_id: bytes, span_id: bytes, time: int, scopes: tuple) -> Feedback:
        score = as_float(find(scopes[0], self.score_key))
        verdict = thumbs_verdict(find(scopes[0], self.thumbs_key))
        if verdict is None and score is not None:
            verdict = DOWN if score <= self.down_at_most else UP
        session = ""
        for key in self.session_keys:
            session = next((found for attrs in scopes if (found := _str(find(attrs, key)))), "")
            if session:
                break
        return Feedback(trace_id, span_id, session, time, verdict, score)


def _str(value: Any | None) -> str:
    return value.string_value if value is not None and value.WhichOneof("value") == "string_value" else ""


def thumbs_verdict(value: Any | None) -> str | None:
    kind = None if value is None else value.WhichOneof("value")
    if kind == "bool_value":
        return UP if value.bool_value else DOWN
    if kind in ("int_value", "double_value"):
        number = getattr(value, kind)
        return UP if number > 0 else DOWN if number < 0 else None
    if kind == "string_value":
        word = value.string_value.strip().lower()
        return UP if word in _UP_WORDS else DOWN if word in _DOWN_WORDS else None
    return None
