"""OpenLIT: `gen_ai.request.stream`, and TTFT / TPOT as span attributes in seconds.

Its TTFT clock starts when the stream wrapper is created, i.e. after the response headers arrived, so it leaves
out connect time and SDK retries; its httpx `POST` child spans end when the headers arrive, so the last one places
the first chunk on the call's clock (the stream processor anchors the TTFT there: the backoff of an SDK retry is put
back). `gen_ai.response.finish_reasons` is `[""]` when no finish chunk came, beside a made-up `"stop"` in
`gen_ai.output.messages`: the attribute is what counts. When the
stream carried no usage, OpenLIT estimates the token counts locally (41/31 instead of 19/12 in the captures);
only real usage from the API comes with the `prompt_tokens_details` it copies into the
`gen_ai.usage.cache_read.input_tokens` / `cache_creation.input_tokens` keys, so counts without either are taken
as the estimate. A stream that fails or is closed early is never exported (its span is never ended): only its
`POST` span arrives, an orphan, which is still evidence of a partial attempt when the app retries.
"""

from __future__ import annotations

from typing import Any

from processor.conventions.base import LlmCall, TtftClock
from processor.conventions.common import SpanConvention, new_call, set_label
from processor.conventions.finish import first_reason
from processor.conventions.genai import fill_gen_ai
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import get_bool, get_float, get_str, get_str_list

FINISH_REASONS = "gen_ai.response.finish_reasons"
_REAL_USAGE_KEYS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens")


class OpenLit(SpanConvention):
    name = "openlit"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        if not (span.scope_name.startswith("openlit") or get_str(attrs, "telemetry.sdk.name") == "openlit"):
            return None
        call = new_call(span, self.name)
        call.streaming = get_bool(attrs, "gen_ai.request.stream")
        fill_gen_ai(call, attrs)
        if FINISH_REASONS in attrs:  # `[""]`: no finish chunk came, whatever "stop" the message payload makes up
            call.record.ClearField("finish_reason")
            set_label(call.record, "finish_reason", first_reason(get_str_list(attrs, FINISH_REASONS)))
        call.reported_ttft_s = get_float(attrs, "gen_ai.server.time_to_first_token")
        call.reported_tpot_s = get_float(attrs, "gen_ai.server.time_per_output_token")
        call.ttft_clock = TtftClock.AFTER_HEADERS
        has_usage = call.record.HasField("output_tokens") or call.record.HasField("input_tokens")
        call.usage_estimated = has_usage and not any(key in attrs for key in _REAL_USAGE_KEYS)
        return call

    def join_log(self, call: LlmCall, log_record: Any) -> None:
        """Its `operation.details` log repeats the made-up `"stop"`: the span's finish reasons attribute counts."""
        had_reason = call.record.HasField("finish_reason")
        super().join_log(call, log_record)
        if not had_reason:
            call.record.ClearField("finish_reason")
