"""What every adapter reads the same way: ids, service, times, status, session, error type, retry markers."""

from __future__ import annotations

import re
from typing import Any

from processor.conventions.base import LlmCall, SpanStatus
from processor.conventions.messages import join_gen_ai_log
from processor.conventions.span import LlmSpan, from_protobuf
from processor.model.otlp_attrs import AttrMap, as_str, first_str, has_prefix
from processor.model.records import StreamRecord
from processor.wire import NO_CLAIMS

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
    """Base of the adapters: each reads an `LlmSpan` (`read_span`), which the registry builds once for all of them;
    `read` is the `Convention` protocol's reading of a decoded protobuf span."""

    name = ""

    def read(self, span: Any, resource: Any, scope: Any) -> LlmCall | None:
        if not looks_like_llm(span):
            return None
        return self.read_span(from_protobuf(span, resource, scope, NO_CLAIMS))

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        raise NotImplementedError

    def join_log(self, call: LlmCall, log_record: Any) -> None:
        join_gen_ai_log(call, log_record)


def looks_like_llm(span: Any) -> bool:
    """A decoded protobuf span with an LLM key (`has_llm_key` for an LlmSpan)."""
    return has_prefix(span.attributes, LLM_KEY_PREFIXES)


def has_llm_key(span: LlmSpan) -> bool:
    return any(key.startswith(LLM_KEY_PREFIXES) for key in span.attributes)


def new_call(span: LlmSpan, convention: str) -> LlmCall:
    """An LlmCall with everything that does not depend on the convention filled in."""
    attrs = span.attributes
    record = StreamRecord(trace_id=span.trace_id, span_id=span.span_id, parent_span_id=span.parent_span_id,
                          convention=convention)
    service = as_str(span.resource.get("service.name"))
    if service:
        record.service = service
    if span.start_time_unix_nano:
        record.start_time_unix_nano = span.start_time_unix_nano
    if span.end_time_unix_nano:
        record.end_time_unix_nano = span.end_time_unix_nano
    session = first_str(attrs, SESSION_KEYS)
    if session:
        record.session_id = session
    call = LlmCall(record=record, status=_STATUS.get(span.status_code, SpanStatus.UNSET),
                   status_message=span.status_message)
    error_types = _error_types(span, attrs, call.status)
    if error_types:
        record.error_type = error_types[0]
    call.consumer_closed = not CONSUMER_CLOSED_ERRORS.isdisjoint(error_types)
    for key in RETRY_MARKER_KEYS:
        if key in attrs:
            call.retry_markers[key] = attrs[key]
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


def _error_types(span: LlmSpan, attrs: AttrMap, status: SpanStatus) -> list[str]:
    """Error types the span names, best source first: `error.type`, `exception` events, the status message."""
    found = []
    declared = as_str(attrs.get("error.type"))
    if declared and declared != "_OTHER":
        found.append(exception_class(declared))
    for position in span.event_positions.get("exception", ()):
        raised = as_str(span.event_attributes(position).get("exception.type"))
        if raised:
            found.append(exception_class(raised))
    if status is SpanStatus.ERROR:
        match = _EXCEPTION_IN_MESSAGE.match(span.status_message)
        if match:
            found.append(match.group(1))
    return found
