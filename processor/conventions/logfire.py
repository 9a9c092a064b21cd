"""Pydantic Logfire (`logfire.instrument_openai()`): a streamed call is two spans, joined into one record.

As captured (logfire 5.4.0, scope `logfire.openai`, `logfire.tags=["LLM"]`):
- the request span `Chat Completion with {request_data[model]!r}` (CLIENT, `logfire.span_type=span`), from
  `create()` to the response headers, with the request's `gen_ai.*` attributes and nothing of the response;
- the log span `streaming response from {request_data[model]!r} took {duration:.2f}s` (INTERNAL,
  `logfire.span_type=log`, zero length, at the stream's end), a sibling under the same parent, with `duration` (s,
  from the headers to the end), `gen_ai.output.messages`, `gen_ai.usage.*`, `gen_ai.response.finish_reasons` as a
  JSON *string*, and on a failure `error.type` plus an `exception` event (level 17).
A call that did not stream has the response on the request span itself and no log span.

Nothing marks the first chunk or the chunks after it: TTFT and cadence are not derivable; the record has the call's
start, the stream's end and its duration.
"""

from __future__ import annotations

import json

from processor.conventions.base import LlmCall, Piece
from processor.conventions.common import SpanConvention, new_call, set_label
from processor.conventions.finish import first_reason
from processor.conventions.genai import fill_gen_ai
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import AttrMap, get_str

STREAM_TEMPLATE = "streaming response from"
_RESPONSE_KEYS = ("gen_ai.output.messages", "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons")


class Logfire(SpanConvention):
    name = "logfire"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        if not span.scope_name.startswith("logfire") or "gen_ai.request.model" not in attrs:
            return None
        stream_piece = (get_str(attrs, "logfire.msg_template") or "").startswith(STREAM_TEMPLATE)
        call = new_call(span, self.name)
        fill_gen_ai(call, attrs)
        set_label(call.record, "finish_reason", _finish_reason(attrs))
        if stream_piece:
            call.piece, call.streaming = Piece.STREAM, True
        elif any(key in attrs for key in _RESPONSE_KEYS):
            call.streaming = False  # the response is on the request span: it did not stream
        else:
            call.piece = Piece.REQUEST  # its stream, if any, is the log span after it
        return call


def _finish_reason(attrs: AttrMap) -> str | None:
    """`gen_ai.response.finish_reasons` is a JSON string here (`'["stop"]'`), not an array."""
    text = get_str(attrs, "gen_ai.response.finish_reasons")
    try:
        reasons = json.loads(text) if text else None
    except ValueError:
        return None
    return first_reason(r for r in reasons if isinstance(r, str)) if isinstance(reasons, list) else None
