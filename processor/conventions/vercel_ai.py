"""Vercel AI SDK (legacy telemetry integration): one `ai.streamText.doStream` / `ai.streamObject.doStream` span
per provider call.

TTFT and duration are attributes in milliseconds: `ai.response.msToFirstChunk` (`ai.stream.msToFirstChunk`
before 4.0, and still for object streaming), `ai.response.msToFinish`. In v7 the `ai.stream.firstChunk` event is
added when the step ends, so its timestamp is not the first chunk's arrival: only its attribute is read. The SDK's
new integration writes semconv `chat {model}` spans, which `genai_semconv` reads.
"""

from __future__ import annotations

from typing import Any

from processor.conventions.base import LlmCall
from processor.conventions.common import SpanConvention, new_call, set_label, set_tokens
from processor.conventions.finish import first_reason, normalise
from processor.conventions.genai import INPUT_TOKEN_KEYS, OUTPUT_TOKEN_KEYS
from processor.model.otlp_attrs import AttrMap, as_float, find, first_int, first_str, get_float, get_str_list

DO_STREAM = frozenset({"ai.streamText.doStream", "ai.streamObject.doStream"})
TTFT_MS_KEYS = ("ai.response.msToFirstChunk", "ai.stream.msToFirstChunk")
FIRST_CHUNK_EVENT = "ai.stream.firstChunk"
_INPUT_KEYS = (*INPUT_TOKEN_KEYS, "ai.usage.inputTokens", "ai.usage.promptTokens")
_OUTPUT_KEYS = (*OUTPUT_TOKEN_KEYS, "ai.usage.outputTokens", "ai.usage.completionTokens")


class VercelAi(SpanConvention):
    name = "vercel_ai"

    def read_map(self, span: Any, resource: Any, scope: Any, attrs: AttrMap) -> LlmCall | None:
        if span.name not in DO_STREAM and first_str(attrs, ("ai.operationId",)) not in DO_STREAM:
            return None
        call = new_call(span, resource, attrs, self.name)
        record = call.record
        call.streaming = True
        set_label(record, "provider", _provider(first_str(attrs, ("gen_ai.system", "ai.model.provider"))))
        set_label(record, "request_model", first_str(attrs, ("gen_ai.request.model", "ai.model.id")))
        set_label(record, "response_model", first_str(attrs, ("gen_ai.response.model", "ai.response.model")))
        set_label(record, "operation", first_str(attrs, ("gen_ai.operation.name",)) or "chat")
        set_tokens(record, first_int(attrs, _INPUT_KEYS), first_int(attrs, _OUTPUT_KEYS))
        reason = first_reason(get_str_list(attrs, "gen_ai.response.finish_reasons"))
        set_label(record, "finish_reason", reason or normalise(first_str(attrs, ("ai.response.finishReason",))))
        ttft_ms = _first_ms(attrs, span)
        call.reported_ttft_s = ttft_ms / 1000 if ttft_ms is not None else None
        finish_ms = get_float(attrs, "ai.response.msToFinish")
        call.reported_duration_s = finish_ms / 1000 if finish_ms is not None else None
        call.completion_text = first_str(attrs, ("ai.response.text", "ai.response.object"))
        call.request_id = first_str(attrs, ("gen_ai.response.id", "ai.response.id"))
        return call


def _first_ms(attrs: AttrMap, span: Any) -> float | None:
    for key in TTFT_MS_KEYS:
        if (ms := get_float(attrs, key)) is not None:
            return ms
    for event in span.events:  # the attribute on the event, never the event's timestamp
        if event.name == FIRST_CHUNK_EVENT:
            for key in TTFT_MS_KEYS:
                if (ms := as_float(find(event.attributes, key))) is not None:
                    return ms
    return None


def _provider(name: str | None) -> str | None:
    """`openai.chat` / `openai.responses` -> `openai`: the SDK appends the provider's API flavour."""
    return name.lower().split(".", 1)[0] if name else None
