"""OpenLIT: `gen_ai.request.stream`, and TTFT / TPOT as span attributes in seconds.

Its TTFT clock starts when the stream wrapper is created, i.e. after the response headers arrived, so it leaves
out connect time and SDK retries. `gen_ai.response.finish_reasons` is `[""]` when no finish chunk came. When the
stream carried no usage, OpenLIT estimates the token counts locally (41/31 instead of 19/12 in the captures);
only real usage from the API comes with the `prompt_tokens_details` it copies into the
`gen_ai.usage.cache_read.input_tokens` / `cache_creation.input_tokens` keys, so counts without either are taken
as the estimate. A stream that fails or is closed early is never exported (its span is never ended).
"""

from __future__ import annotations

from typing import Any

from processor.conventions.base import LlmCall, TtftClock
from processor.conventions.common import SpanConvention, new_call
from processor.conventions.genai import fill_gen_ai
from processor.model.otlp_attrs import AttrMap, get_bool, get_float, get_str

_REAL_USAGE_KEYS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens")


class OpenLit(SpanConvention):
    name = "openlit"

    def read_map(self, span: Any, resource: Any, scope: Any, attrs: AttrMap) -> LlmCall | None:
        if not (scope.name.startswith("openlit") or get_str(attrs, "telemetry.sdk.name") == "openlit"):
            return None
        call = new_call(span, resource, attrs, self.name)
        call.streaming = get_bool(attrs, "gen_ai.request.stream")
        fill_gen_ai(call, attrs)
        call.reported_ttft_s = get_float(attrs, "gen_ai.server.time_to_first_token")
        call.reported_tpot_s = get_float(attrs, "gen_ai.server.time_per_output_token")
        call.ttft_clock = TtftClock.AFTER_HEADERS
        has_usage = call.record.HasField("output_tokens") or call.record.HasField("input_tokens")
        call.usage_estimated = has_usage and not any(key in attrs for key in _REAL_USAGE_KEYS)
        return call
