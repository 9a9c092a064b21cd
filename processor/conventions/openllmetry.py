"""OpenLLMetry (Traceloop): one `gen_ai.content.completion.chunk` span event per SSE chunk the app pulled.

The events include the role-only first chunk, the empty finish chunk and the usage-only chunk (15 events for 12
content chunks), and carry no attributes. Older releases named them `llm.content.completion.chunk`. The span says
`gen_ai.is_streaming` (older: `llm.is_streaming`). Known bug: a stream cut off mid-body ends with status OK and no
error (CONVENTIONS.md 4.1); only the missing finish reason and usage tell. A stream the app closes ends OK at the
close: the same as a cut-off one, so a cut-off record names `aborted` as its `ambiguous_outcome`.
"""

from __future__ import annotations

from processor.conventions.base import LlmCall
from processor.conventions.common import OPENLLMETRY_CHUNK_EVENTS, SpanConvention, new_call
from processor.conventions.genai import fill_gen_ai, is_generation
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import get_bool

CHUNK_EVENTS = frozenset(OPENLLMETRY_CHUNK_EVENTS)
STREAM_FLAG_KEYS = ("gen_ai.is_streaming", "llm.is_streaming")
#: A stream the app closed ends OK at the close, like one that was cut off.
LOOKALIKES = {"truncated/cutoff": "aborted"}


class OpenLlmetry(SpanConvention):
    name = "openllmetry"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        streaming = next((flag for key in STREAM_FLAG_KEYS if (flag := get_bool(attrs, key)) is not None), None)
        chunk_times = span.times_of(CHUNK_EVENTS)
        if (streaming is None and not chunk_times) or not is_generation(attrs):
            return None
        call = new_call(span, self.name)
        call.streaming = streaming if streaming is not None else True  # chunk events only come from streams
        call.chunk_times = chunk_times
        call.lookalikes = LOOKALIKES
        fill_gen_ai(call, attrs)
        return call
