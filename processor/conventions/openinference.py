"""OpenInference (Arize): `openinference.span.kind=LLM` on an INTERNAL span, `llm.*` attributes, no `gen_ai.*`.

One `First Token Stream Event` when the first chunk arrives. The stream flag is inside the
`llm.invocation_parameters` JSON. The span ends OK on a completed stream, ERROR (with an `exception` event) on a
failure, and UNSET when the app closed the stream early: UNSET means not completed.
"""

from __future__ import annotations

import json

from processor.conventions.base import LlmCall
from processor.conventions.common import SpanConvention, new_call, set_label, set_tokens
from processor.conventions.finish import normalise
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import AttrMap, first_str, get_int, get_str

FIRST_TOKEN_EVENT = "First Token Stream Event"
_OUTPUT_CONTENT = "llm.output_messages.{}.message.content"


class OpenInference(SpanConvention):
    name = "openinference"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        if get_str(attrs, "openinference.span.kind") != "LLM":
            return None
        return read_openinference(span, self.name)


def read_openinference(span: LlmSpan, convention: str) -> LlmCall:
    """An OpenInference LLM span, whichever framework's instrumentor wrote it."""
    attrs = span.attributes
    call = new_call(span, convention)
    record = call.record
    params = invocation_parameters(attrs)
    first = span.first_event(FIRST_TOKEN_EVENT)
    first_token = first[1] if first is not None else None
    call.streaming = _streaming(params, first_token)
    call.first_token_time = first_token
    call.unset_means_incomplete = True
    provider = first_str(attrs, ("llm.provider", "llm.system"))
    set_label(record, "provider", provider.lower() if provider else None)
    requested = params.get("model") or params.get("model_name")
    set_label(record, "request_model", requested if isinstance(requested, str) else None)
    set_label(record, "response_model", get_str(attrs, "llm.model_name"))
    record.operation = "chat"  # OpenInference names no operation; its LLM spans are chat / completion calls
    set_tokens(record, get_int(attrs, "llm.token_count.prompt"), get_int(attrs, "llm.token_count.completion"))
    set_label(record, "finish_reason", normalise(get_str(attrs, "llm.finish_reason")))
    call.completion_text = _output_text(attrs)
    return call


def _streaming(params: dict, first_token: int | None) -> bool | None:
    """The first-token event is only added to streams; parameters without a stream flag ask for the APIs'
    default, a whole response."""
    if first_token is not None:
        return True
    stream = params.get("stream")
    if isinstance(stream, bool):
        return stream
    return False if params else None


def invocation_parameters(attrs: AttrMap) -> dict:
    text = get_str(attrs, "llm.invocation_parameters")
    try:
        params = json.loads(text) if text else {}
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def _output_text(attrs: AttrMap) -> str | None:
    texts: list[str] = []
    while (text := get_str(attrs, _OUTPUT_CONTENT.format(len(texts)))) is not None:
        texts.append(text)
    return "".join(texts) if texts else output_value_text(attrs)


def output_value_text(attrs: AttrMap) -> str | None:
    value = get_str(attrs, "output.value")
    if value is None:
        return None
    if get_str(attrs, "output.mime_type") != "application/json":
        return value
    try:
        output = json.loads(value)
        return output["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError):
        return None
