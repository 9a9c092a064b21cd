"""vLLM request tracing: one SERVER span `llm_request` per request, written when it finishes.

Latencies are float seconds measured by the engine: `gen_ai.latency.time_to_first_token` (from arrival, so it
includes queueing), `gen_ai.latency.e2e`, `gen_ai.latency.time_in_queue`. Usage uses the old names
`gen_ai.usage.prompt_tokens` / `completion_tokens`. The span does not say whether the response was streamed.
"""

from __future__ import annotations

from processor.conventions.base import LlmCall, TtftClock
from processor.conventions.common import SpanConvention, new_call, set_label, set_tokens
from processor.conventions.finish import first_reason
from processor.conventions.genai import INPUT_TOKEN_KEYS, OUTPUT_TOKEN_KEYS, provider
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import first_int, first_str, get_float, get_str_list

TTFT_KEY = "gen_ai.latency.time_to_first_token"
E2E_KEY = "gen_ai.latency.e2e"


class Vllm(SpanConvention):
    name = "vllm"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        if TTFT_KEY not in attrs and E2E_KEY not in attrs:
            return None
        call = new_call(span, self.name)
        record = call.record
        set_label(record, "provider", provider(attrs) or "vllm")
        set_label(record, "request_model", first_str(attrs, ("gen_ai.request.model",)))
        set_label(record, "response_model", first_str(attrs, ("gen_ai.response.model",)))
        set_label(record, "operation", first_str(attrs, ("gen_ai.operation.name",)))
        set_tokens(record, first_int(attrs, INPUT_TOKEN_KEYS), first_int(attrs, OUTPUT_TOKEN_KEYS))
        set_label(record, "finish_reason", first_reason(get_str_list(attrs, "gen_ai.response.finish_reasons")))
        call.reported_ttft_s = get_float(attrs, TTFT_KEY)
        call.ttft_clock = TtftClock.SERVER_QUEUE
        call.reported_duration_s = get_float(attrs, E2E_KEY)
        call.server_queue_s = get_float(attrs, "gen_ai.latency.time_in_queue")
        call.request_id = first_str(attrs, ("gen_ai.request.id", "gen_ai.response.id"))
        return call
