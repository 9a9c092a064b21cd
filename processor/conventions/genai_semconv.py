"""OTel GenAI semantic conventions, old and new: openai-v2 (default and latest-experimental), util-genai, the
Vercel AI SDK's new integration, and any library that follows them.

Stream flag `gen_ai.request.stream` (absent in openai-v2 2.4b0, so unknown there). TTFT: the span attribute
`gen_ai.response.time_to_first_chunk` (semconv 1.41), or `gen_ai.client.operation.time_to_first_chunk` set as a
span attribute (Vercel), in seconds from the request. openai-v2 never sets `gen_ai.response.finish_reasons` on
a stream: the finish reason is in the joined `gen_ai.choice` log or in `gen_ai.output.messages` (`"error"` there
when no finish chunk came, which reads as none). Its UNSET status is also how it ends a completed stream, so
UNSET does not mean incomplete here.
"""

from __future__ import annotations

from processor.conventions.base import LlmCall
from processor.conventions.common import SpanConvention, new_call
from processor.conventions.genai import PROVIDER_KEYS, fill_gen_ai, is_generation, operation
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import get_bool, get_float

TTFT_KEYS = ("gen_ai.response.time_to_first_chunk", "gen_ai.client.operation.time_to_first_chunk")
_MARKERS = (*PROVIDER_KEYS, "gen_ai.operation.name", "gen_ai.request.model")
#: Attributes of other conventions' spans, LLM or not (Vercel's root `ai.streamText`, OpenInference and traceAI
#: chains).
_FOREIGN = ("ai.operationId", "openinference.span.kind", "gen_ai.span.kind")
_OPENAI_V2_SCOPES = ("opentelemetry.instrumentation.openai_v2", "opentelemetry.util.genai")
#: openai-v2 ends a stream the app closed UNSET with "error" in its log: the same as a clean early end.
_OPENAI_V2_LOOKALIKES = {"truncated/cutoff": "aborted"}


class GenAiSemconv(SpanConvention):
    name = "genai_semconv"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        if not any(key in attrs for key in _MARKERS) or any(key in attrs for key in _FOREIGN):
            return None
        if not is_generation(attrs) or (operation(attrs) is None and "gen_ai.request.model" not in attrs):
            return None
        call = new_call(span, self.name)
        fill_gen_ai(call, attrs)
        call.reported_ttft_s = next((t for key in TTFT_KEYS if (t := get_float(attrs, key)) is not None), None)
        # Vercel's new integration: the mean gap between chunks, the closest thing to a reported TPOT.
        call.reported_tpot_s = get_float(attrs, "gen_ai.client.operation.time_per_output_chunk")
        call.reported_duration_s = get_float(attrs, "gen_ai.client.operation.duration")
        if span.scope_name.startswith(_OPENAI_V2_SCOPES):
            call.lookalikes = _OPENAI_V2_LOOKALIKES
        stream = get_bool(attrs, "gen_ai.request.stream")
        # A time to first chunk is only reported for streams (semconv: "SHOULD NOT be reported otherwise").
        call.streaming = stream if stream is not None else (True if call.reported_ttft_s is not None else None)
        return call
