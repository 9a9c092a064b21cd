"""Vercel AI SDK, `ai.*` telemetry: 6.x `experimental_telemetry`, and 7.x `@ai-sdk/otel` `LegacyOpenTelemetry`.

`streamText` writes a wrapper span `ai.streamText` (from the call to the end of the whole stream) and under it one
`ai.streamText.doStream` span per provider call (a `WRAPPER` piece and the call: one record, which starts when
`streamText` was called). TTFT and duration are attributes in milliseconds: `ai.response.msToFirstChunk`
(`ai.stream.msToFirstChunk` before 4.0, and still for object streaming), `ai.response.msToFinish`, counted from the
provider call. The `ai.stream.firstChunk` event is added when the first chunk arrives in 6.x (its time is the first
chunk's, within a few ms of the app's); 7.x adds it, with `ai.stream.finish`, when the step ends, so only its
attribute is read then.

As captured (ai 6.0.326 / 7.0.173): a clean early end has finish reason `other` (6.x) or `interrupted` (7.x), i.e.
none; a stream the app aborts ends without any finish reason and without an error (7.x) or is never ended at all,
leaving only the wrapper (6.x); a mid-stream drop ends ERROR `Failed to process successful response` (7.x) or
leaves nothing exported (6.x never ends either span). An SDK retry after a 429 is a failed `doStream` before the
good one under the same wrapper (6.x); 7.x exports only the good one, and its TTFT then leaves out the backoff.
"""

from __future__ import annotations

from processor.conventions.base import LlmCall, Piece, SpanStatus
from processor.conventions.common import SpanConvention, new_call, set_label, set_tokens
from processor.conventions.finish import first_reason, normalise
from processor.conventions.genai import INPUT_TOKEN_KEYS, OUTPUT_TOKEN_KEYS
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import AttrMap, first_int, first_str, get_float, get_str_list

DO_STREAM = frozenset({"ai.streamText.doStream", "ai.streamObject.doStream"})
WRAPPERS = frozenset({"ai.streamText", "ai.streamObject"})
TTFT_MS_KEYS = ("ai.response.msToFirstChunk", "ai.stream.msToFirstChunk")
FIRST_CHUNK_EVENT = "ai.stream.firstChunk"
#: What the SDK writes when no finish chunk came: not a finish reason.
NO_FINISH = frozenset({"other", "interrupted", "unknown"})
_INPUT_KEYS = (*INPUT_TOKEN_KEYS, "ai.usage.inputTokens", "ai.usage.promptTokens")
_OUTPUT_KEYS = (*OUTPUT_TOKEN_KEYS, "ai.usage.outputTokens", "ai.usage.completionTokens")
#: The SDK's error when the response was a success (2xx) and reading its body failed: the stream had begun.
BODY_FAILED = "Failed to process successful response"
#: A first-chunk event within this of the span start + msToFirstChunk was added when the chunk came (6.x); 7.x adds
#: it when the step ends, after the last chunk.
_LIVE_NS = 100_000_000


class VercelAi(SpanConvention):
    name = "vercel_ai"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        operation = first_str(attrs, ("ai.operationId",)) or span.name
        if operation not in DO_STREAM and operation not in WRAPPERS:
            return None
        call = new_call(span, self.name)
        record = call.record
        call.streaming = True
        call.piece = Piece.WRAPPER if operation in WRAPPERS else Piece.WHOLE
        set_label(record, "provider", _provider(first_str(attrs, ("gen_ai.system", "ai.model.provider"))))
        set_label(record, "request_model", first_str(attrs, ("gen_ai.request.model", "ai.model.id")))
        set_label(record, "response_model", first_str(attrs, ("gen_ai.response.model", "ai.response.model")))
        set_label(record, "operation", first_str(attrs, ("gen_ai.operation.name",)) or "chat")
        set_tokens(record, first_int(attrs, _INPUT_KEYS), first_int(attrs, _OUTPUT_KEYS))
        raw = first_reason(get_str_list(attrs, "gen_ai.response.finish_reasons")) or \
            normalise(first_str(attrs, ("ai.response.finishReason",)))
        set_label(record, "finish_reason", None if raw in NO_FINISH else raw)
        if raw is None and call.status is not SpanStatus.ERROR:
            call.consumer_closed = True  # ended with no finish at all and no error: the app aborted it
        call.response_started = call.status is SpanStatus.ERROR and call.status_message == BODY_FAILED
        ttft_ms, call.first_token_time = _first_chunk(attrs, span)
        call.reported_ttft_s = ttft_ms / 1000 if ttft_ms is not None else None
        finish_ms = get_float(attrs, "ai.response.msToFinish")
        call.reported_duration_s = finish_ms / 1000 if finish_ms is not None else None
        call.completion_text = first_str(attrs, ("ai.response.text", "ai.response.object"))
        call.request_id = first_str(attrs, ("gen_ai.response.id", "ai.response.id"))
        call.max_output_tokens = first_int(attrs, ("gen_ai.request.max_tokens", "ai.settings.maxOutputTokens"))
        return call


def _first_chunk(attrs: AttrMap, span: LlmSpan) -> tuple[float | None, int | None]:
    """The reported ms to the first chunk, and the first-chunk event's time where it was added live (6.x)."""
    ms = next((value for key in TTFT_MS_KEYS if (value := get_float(attrs, key)) is not None), None)
    first = span.first_event(FIRST_CHUNK_EVENT)
    if first is None:
        return ms, None
    position, time = first
    if ms is None:  # the attribute on the event, never the event's timestamp
        ms = next((v for key in TTFT_MS_KEYS if (v := get_float(span.event_attributes(position), key)) is not None),
                  None)
    live = ms is not None and time <= span.start_time_unix_nano + ms * 1e6 + _LIVE_NS
    return ms, time if live else None


def _provider(name: str | None) -> str | None:
    """`openai.chat` / `openai.responses` -> `openai`: the SDK appends the provider's API flavour."""
    return name.lower().split(".", 1)[0] if name else None
