"""FutureAGI traceAI (`traceai-openai`, `fi-instrumentation-otel`): OpenInference's span shape with its own keys.

As captured (traceai-openai 0.1.10, fi-instrumentation-otel 1.1.0, with a plain TracerProvider and with `register()`):
an INTERNAL span `ChatCompletion`, scope `traceai_openai`, marked `gen_ai.span.kind=LLM` where OpenInference writes
`openinference.span.kind`. The request is the `gen_ai.request.parameters` JSON (model, `stream`, `max_tokens`), usage
is `gen_ai.usage.input_tokens` / `output_tokens`, the text `output.value`, the provider `gen_ai.provider.name`. One
`First Token Stream Event` when the first chunk arrives (within a millisecond of the app's clock). The span starts
when the SDK's `request()` is entered, 70-900 ms after `create()` was called on a loaded machine, so a TTFT from
the span start is short by that; the event's own time is right.

What is not exported: no finish reason at all (a `length` stop shows only as output tokens reaching the request's
`max_tokens`), no response model, no tool calls (`output.value` is empty). A mid-stream drop ends ERROR with an
`exception` event; a clean early end ends OK without usage; a stream the app closes is never exported (its span is
never ended). `register()` gives a resource with `project_name` but no `service.name`: the project names the service.
"""

from __future__ import annotations

import json

from processor.conventions.base import LlmCall
from processor.conventions.common import SpanConvention, new_call, set_label, set_tokens
from processor.conventions.finish import first_reason
from processor.conventions.genai import INPUT_TOKEN_KEYS, OUTPUT_TOKEN_KEYS
from processor.conventions.openinference import FIRST_TOKEN_EVENT, output_value_text
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import AttrMap, as_str, first_int, get_str, get_str_list

SPAN_KIND_KEY = "gen_ai.span.kind"
PARAMETERS_KEY = "gen_ai.request.parameters"
_MAX_TOKENS_KEYS = ("max_completion_tokens", "max_tokens")


class TraceAi(SpanConvention):
    name = "traceai"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        if get_str(attrs, SPAN_KIND_KEY) != "LLM":
            return None
        first = span.first_event(FIRST_TOKEN_EVENT)
        first_token = first[1] if first is not None else None
        call = new_call(span, self.name)
        record = call.record
        if not record.HasField("service"):
            set_label(record, "service", as_str(span.resource.get("project_name")))
        params = _parameters(attrs)
        stream = params.get("stream")
        call.streaming = True if first_token is not None else (stream if isinstance(stream, bool) else None)
        call.first_token_time = first_token
        set_label(record, "provider", (get_str(attrs, "gen_ai.provider.name") or "").lower() or None)
        model = params.get("model")
        set_label(record, "request_model", model if isinstance(model, str) else None)
        set_label(record, "response_model", get_str(attrs, "gen_ai.response.model"))
        record.operation = "chat"
        set_tokens(record, first_int(attrs, INPUT_TOKEN_KEYS), first_int(attrs, OUTPUT_TOKEN_KEYS))
        set_label(record, "finish_reason", first_reason(get_str_list(attrs, "gen_ai.response.finish_reasons")))
        limit = next((params[key] for key in _MAX_TOKENS_KEYS if isinstance(params.get(key), int)), None)
        call.max_output_tokens = limit
        call.completion_text = output_value_text(attrs)
        return call


def _parameters(attrs: AttrMap) -> dict:
    text = get_str(attrs, PARAMETERS_KEY)
    try:
        params = json.loads(text) if text else {}
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}
