"""User feedback as the app reports it: a `gen_ai.feedback` span event on the request's root span, or a
`user.feedback` log record (with the trace id, or only the session id when the feedback came later from
another page), with `feedback.thumbs` up or down: the defaults the feedback processor reads."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SPAN_EVENT = "gen_ai.feedback"
LOG_EVENT = "user.feedback"
THUMBS_KEY = "feedback.thumbs"
_NS = 1_000_000_000


def _str_attr(key: str, value: str) -> KeyValue:
    kv = KeyValue(key=key)
    kv.value.string_value = value
    return kv


def add_feedback_event(root: Span, verdict: str) -> None:
    root.events.add(name=SPAN_EVENT, time_unix_nano=root.end_time_unix_nano,
                    attributes=[_str_attr(THUMBS_KEY, verdict)])


class FeedbackLogs:
    """One ExportLogsServiceRequest of feedback log records."""

    def __init__(self, service: str = "llm-gateway") -> None:
        self.request = ExportLogsServiceRequest()
        resource_logs = self.request.resource_logs.add()
        resource_logs.resource.attributes.append(_str_attr("service.name", service))
        scope_logs = resource_logs.scope_logs.add()
        scope_logs.scope.name = "app.feedback"
        self._records = scope_logs.log_records

    def __len__(self) -> int:
        return len(self._records)

    def add(self, root: Span, session: str, verdict: str, *, with_trace: bool) -> None:
        """Feedback a second after the response; joined by its trace id, or else by session and time."""
        at = root.end_time_unix_nano + _NS
        record = self._records.add(time_unix_nano=at, observed_time_unix_nano=at, event_name=LOG_EVENT,
                                   attributes=[_str_attr(THUMBS_KEY, verdict), _str_attr("session.id", session)])
        if with_trace:
            record.trace_id = root.trace_id
