"""Walking an OTLP request for the pieces the `stream` processor keeps: LLM calls, HTTP attempts, gen_ai logs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from processor.conventions.common import CHUNK_EVENTS, LLM_KEY_PREFIXES
from processor.conventions.messages import event_name
from processor.conventions.span import LlmSpan
from processor.processors.stream.config import TEXT_KEYS
from processor.stream.work import HttpAttempt
from processor.wire import Claims
from processor.wire.claims import HTTP_METHODS

_CLIENT = Span.SPAN_KIND_CLIENT
_ERROR = Status.STATUS_CODE_ERROR
_HTTP_METHODS = frozenset(HTTP_METHODS)  # the scan claims the same spans: http_client=True
_HTTP_STATUS_KEYS = ("http.response.status_code", "http.status_code")
_URL_KEYS = frozenset({"url.full", "http.url"})
#: Paths of LLM APIs: an HTTP attempt to one is a provider call (OpenAI-compatible chat, completions, responses).
_LLM_PATHS = ("/chat/completions", "/completions", "/responses", "/messages")


#: The spans this processor reads (`read_llm_span` looks only at spans with an LLM key, `http_attempt` at HTTP client
#: spans with a parent): a batch of bytes whose index claims none of them is passed on unread. The default chunk
#: events' text is read with them, for the content check (chunk_text.span_text).
CLAIMS = Claims(key_prefixes=LLM_KEY_PREFIXES, http_client=True, text_event_names=CHUNK_EVENTS, text_keys=TEXT_KEYS)


def spans(request: Any) -> Iterator[tuple[Any, Any, Any]]:
    """(span, resource, scope) for every span of a trace request."""
    for rs in request.resource_spans:
        resource = rs.resource
        for ss in rs.scope_spans:
            scope = ss.scope
            for span in ss.spans:
                yield span, resource, scope


def maybe_http_attempt(span: Any) -> bool:
    """Whether a decoded span may be an HTTP attempt (`http_attempt` tells): a CLIENT span with a parent."""
    return span.kind == _CLIENT and bool(span.parent_span_id)


def http_attempt(span: LlmSpan) -> HttpAttempt | None:
    """The span as an HTTP client attempt when it is one (a CLIENT span named by an HTTP method) with a parent."""
    if span.kind != _CLIENT or not span.parent_span_id or span.name.partition(" ")[0] not in _HTTP_METHODS:
        return None
    failed = span.status_code == _ERROR
    llm_api = False
    for key, value in span.attributes.items():
        if key in _HTTP_STATUS_KEYS and type(value) is int and value >= 400:
            failed = True
        elif key in _URL_KEYS:
            llm_api = (value if type(value) is str else "").split("?", 1)[0].endswith(_LLM_PATHS)
    return HttpAttempt(span.span_id, span.parent_span_id, span.start_time_unix_nano, span.end_time_unix_nano,
                       failed, frozenset(span.attributes), llm_api)


def joinable_logs(request: Any) -> Iterator[Any]:
    """Log records with a span id that are gen_ai events about the output (not the input messages)."""
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            for log in sl.log_records:
                if log.span_id and _joinable(event_name(log)):
                    yield log


def _joinable(name: str) -> bool:
    return name.startswith("gen_ai.") and not name.endswith(".message")
