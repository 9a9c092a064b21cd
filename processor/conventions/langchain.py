"""LangChain chat-model spans (`ChatOpenAI`, ...) from OpenInference's and Traceloop's LangChain tracers.

OpenInference's tracer writes an `openinference.span.kind=LLM` span (`ChatOpenAI`, INTERNAL); Traceloop's writes
`gen_ai.*` on `ChatOpenAI.chat` (CLIENT). Neither says whether the model streamed: `ChatOpenAI.stream()` even
records `"stream": false` in the invocation parameters. What does tell, as captured: a streamed generation is a
`ChatGenerationChunk` in OpenInference's `output.value`, and Traceloop's output message has role `"unknown"` for
it, while only a non-streamed generation carries the response id. When the app closes the stream, the tracers
record an error `GeneratorExit`: the consumer closed it.
"""

from __future__ import annotations

from processor.conventions.base import LlmCall
from processor.conventions.common import SpanConvention, new_call
from processor.conventions.genai import fill_gen_ai, is_generation, operation
from processor.conventions.messages import parse_messages
from processor.conventions.openinference import invocation_parameters, read_openinference
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import AttrMap, get_str


class LangChain(SpanConvention):
    name = "langchain"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        if "langchain" not in span.scope_name:
            return None
        if get_str(attrs, "openinference.span.kind") == "LLM":
            call = read_openinference(span, self.name)
            call.unset_means_incomplete = False  # this tracer ends a closed stream with ERROR GeneratorExit
            call.streaming = _streamed_openinference(attrs)
            return call
        if operation(attrs) is None or not is_generation(attrs):
            return None
        call = new_call(span, self.name)
        fill_gen_ai(call, attrs)
        call.streaming = _streamed_traceloop(attrs)
        return call


def _streamed_openinference(attrs: AttrMap) -> bool | None:
    if invocation_parameters(attrs).get("stream") is True:  # the model was built with streaming=True
        return True
    output = get_str(attrs, "output.value") or ""
    if '"ChatGenerationChunk"' in output:
        return True
    if '"ChatGeneration"' in output:
        return False
    return None


def _streamed_traceloop(attrs: AttrMap) -> bool | None:
    roles = {m.get("role") for m in parse_messages(attrs.get("gen_ai.output.messages"))}
    if "unknown" in roles:
        return True
    if "gen_ai.response.id" in attrs:
        return False
    return None
