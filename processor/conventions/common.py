"""What every adapter reads the same way: ids, service, times, status, session, error type, retry markers."""

from __future__ import annotations

import re
from typing import Any

from processor.conventions.base import LlmCall, SpanStatus
from processor.conventions.messages import join_gen_ai_log
from processor.model.otlp_attrs import AttrMap, as_str, attr_map, find, first_str, has_prefix, to_python
from processor.model.records import StreamRecord

#: Every convention puts at least one attribute with one of these prefixes on its LLM spans; a span without
#: any (HTTP, DB, the app's own spans) is not looked at further.
LLM_KEY_PREFIXES = ("gen_ai.", "llm.", "ai.", "openinference.", "mlflow.", "langfuse.")
#: OpenLLMetry's per-chunk span event, and its older name.
OPENLLMETRY_CHUNK_EVENTS = ("gen_ai.content.completion.chunk", "llm.content.completion.chunk")
#: Span events (and log records) that stand for one streamed chunk: OpenLLMetry's, and LangChain's run event.
CHUNK_EVENTS = (*OPENLLMETRY_CHUNK_EVENTS, "new_token")
#: Span attributes that mark an HTTP resend, read into `LlmCall.retry_markers`.
RETRY_MARKER_KEYS = ("http.request.resend_count",)
SESSION_KEYS = ("session.id", "gen_ai.conversation.id", "session_id",
                "traceloop.association.properties.session_id", "ai.telemetry.metadata.sessionId")
#: Errors raised into a generator when its consumer stops reading: the stream was closed, not failed.
CONSUMER_CLOSED_ERRORS = frozenset({"GeneratorExit", "CancelledError"})

_STATUS = {0: SpanStatus.UNSET, 1: SpanStatus.OK, 2: SpanStatus.ERROR}
# "APIConnectionError: Connection error.", "GeneratorExit()Traceback ...", "openai.APITimeoutError(...)";
# but not "Connection error." or "Error code: 500 - ...".
_EXCEPTION_IN_MESSAGE = re.compile(r"^(?:[a-z_]\w*\.)*([A-Z]\w*)(?:\(|: )")


class SpanConvention:
    """Base of the adapters: `read` checks the cheap marker, builds the attribute map once, and hands over to
    `read_map`, which the registry also calls directly so that trying several conventions builds one map."""

    name = ""

    def read(self, span: Any, resource: Any, scope: Any) -> LlmCall | None:
        if not looks_like_llm(span):
            return None
        return self.read_map(span, resource, scope, attr_map(span.attributes))

    def read_map(self, span: Any, resource: Any, scope: Any, attrs: AttrMap) -> LlmCall | None:
        raise NotImplementedError

    def join_log(self, call: LlmCall, log_record: Any) -> None:
        join_gen_ai_log(call, log_record)


def looks_like_llm(span: Any) -> bool:
    return has_prefix(span.attributes, LLM_KEY_PREFIXES)


def new_call(span: Any, resource: Any, attrs: AttrMap, convention: str, *,
             has_exception_events: bool = True) -> LlmCall:
    """An LlmCall with everything that does not depend on the convention filled in.

    `has_exception_events=False`: the convention already walked the span's events and saw no `exception` event,
    so they are not walked again (a streamed span has one event per chunk).
    """
    record = StreamRecord(trace_id=span.trace_id, span_id=span.span_id, parent_span_id=span.parent_span_id,
                          convention=convention)
    service = as_str(find(resource.attributes, "service.name")) if resource is not None else None
    if service:
        record.service = service
    if span.start_time_unix_nano:
        record.start_time_unix_nano = span.start_time_unix_nano
    if span.end_time_unix_nano:
        record.end_time_unix_nano = span.end_time_unix_nano
    session = first_str(attrs, SESSION_KEYS)
    if session:
        record.session_id = session
    call = LlmCall(record=record, status=_STATUS.get(span.status.code, SpanStatus.UNSET),
                   status_message=span.status.message)
    error_types = _error_types(span, attrs, call.status, has_exception_events)
    if error_types:
        record.error_type = error_types[0]
    call.consumer_closed = not CONSUMER_CLOSED_ERRORS.isdisjoint(error_types)
    for key in RETRY_MARKER_KEYS:
        if key in attrs:
            call.retry_markers[key] = to_python(attrs[key])
    return call


def set_tokens(record: StreamRecord, input_tokens: int | None, output_tokens: int | None) -> None:
    if input_tokens is not None and input_tokens >= 0:
        record.input_tokens = input_tokens
    if output_tokens is not None and output_tokens >= 0:
        record.output_tokens = output_tokens


def set_label(record: StreamRecord, field: str, value: str | None) -> None:
    if value:
        setattr(record, field, value)


def exception_class(type_name: str) -> str:
    """`openai.APIConnectionError` -> `APIConnectionError`, so that `error.type` and exception events agree."""
    return type_name.rsplit(".", 1)[-1]


def _error_types(span: Any, attrs: AttrMap, status: SpanStatus, scan_events: bool = True) -> list[str]:
    """Error types the span names, best source first: `error.type`, `exception` events, the status message."""
    found = []
    declared = as_str(attrs.get("error.type"))
    if declared and declared != "_OTHER":
        found.append(exception_class(declared))
    for event in span.events if scan_events else ():
        if event.name == "exception":
            raised = as_str(find(event.attributes, "exception.type"))
            if raised:
                found.append(exception_class(raised))
    if status is SpanStatus.ERROR:
        match = _EXCEPTION_IN_MESSAGE.match(span.status.message)
        if match:
            found.append(match.group(1))
    return found
