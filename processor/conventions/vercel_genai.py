"""Vercel AI SDK 7.x, `@ai-sdk/otel` `OpenTelemetry` (the new integration): OTel GenAI semconv spans, nested.

As captured (ai 7.0.173, @ai-sdk/otel 1.0.173, scope `gen_ai`): `streamText` is `invoke_agent {model}` >
`step 1` (`gen_ai.operation.name=agent_step`) > `chat {model}` (CLIENT): the two outer spans are `WRAPPER` pieces
and the chat span is the call (one record, starting when `streamText` was called). On the chat span, in seconds:
`gen_ai.client.operation.time_to_first_chunk` (from the chat span's start), `time_per_output_chunk` (the mean
gap), `duration`; plus `gen_ai.response.finish_reasons`, `gen_ai.usage.*`, `gen_ai.output.messages`. No events.

A clean early end has finish reason `interrupted` (none); a stream the app aborts ends UNSET with no finish reason
and no TTFT; a mid-stream drop ends ERROR `Failed to process successful response` with `http.response.status_code`
200, i.e. after the stream had begun. An SDK retry after a 429 is not exported (the chat span is the last attempt).
"""

from __future__ import annotations

from processor.conventions.base import LlmCall, Piece, SpanStatus
from processor.conventions.common import SpanConvention, new_call
from processor.conventions.genai import fill_gen_ai, operation
from processor.conventions.genai_semconv import TTFT_KEYS
from processor.conventions.span import LlmSpan
from processor.conventions.vercel_ai import BODY_FAILED
from processor.model.otlp_attrs import first_int, get_float, get_str_list

SCOPE = "gen_ai"
WRAPPER_OPERATIONS = frozenset({"invoke_agent", "agent_step"})
NO_FINISH = frozenset({"interrupted", "other", "unknown"})


class VercelGenAi(SpanConvention):
    name = "vercel_ai_genai"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        op = operation(attrs)
        if span.scope_name != SCOPE or (op != "chat" and op not in WRAPPER_OPERATIONS):
            return None
        call = new_call(span, self.name)
        fill_gen_ai(call, attrs)
        record = call.record
        raw = (get_str_list(attrs, "gen_ai.response.finish_reasons") or [None])[0]
        if raw in NO_FINISH:
            record.ClearField("finish_reason")
        call.piece = Piece.WRAPPER if op in WRAPPER_OPERATIONS else Piece.WHOLE
        call.streaming = True
        call.reported_ttft_s = next((t for key in TTFT_KEYS if (t := get_float(attrs, key)) is not None), None)
        call.reported_tpot_s = get_float(attrs, "gen_ai.client.operation.time_per_output_chunk")
        call.reported_duration_s = get_float(attrs, "gen_ai.client.operation.duration")
        call.max_output_tokens = first_int(attrs, ("gen_ai.request.max_tokens",))
        status_code = first_int(attrs, ("http.response.status_code",))
        call.response_started = call.status is SpanStatus.ERROR and (
            (status_code is not None and status_code < 300) or call.status_message == BODY_FAILED)
        if call.piece is Piece.WHOLE and raw is None and call.status is not SpanStatus.ERROR:
            call.consumer_closed = True  # no finish reason, no error: the app aborted the stream
        return call
