"""Choosing adapters by name, and reading a span with the first one that recognises it."""

from __future__ import annotations

from typing import Any

from processor.conventions.base import Convention, LlmCall
from processor.conventions.common import has_llm_key, looks_like_llm
from processor.conventions.genai_semconv import GenAiSemconv
from processor.conventions.langchain import LangChain
from processor.conventions.langfuse import Langfuse
from processor.conventions.logfire import Logfire
from processor.conventions.mlflow import Mlflow
from processor.conventions.openinference import OpenInference
from processor.conventions.openlit import OpenLit
from processor.conventions.openllmetry import OpenLlmetry
from processor.conventions.span import LlmSpan, from_protobuf
from processor.conventions.traceai import TraceAi
from processor.conventions.vercel_ai import VercelAi
from processor.conventions.vercel_genai import VercelGenAi
from processor.conventions.vllm import Vllm
from processor.wire import NO_CLAIMS

#: Most specific first: LangChain tracers write OpenInference or gen_ai spans, Traceloop's chunk events and
#: OpenLIT, Vercel and vLLM spans all carry gen_ai.* too, so the generic semconv reader comes last.
ORDER = (LangChain, OpenLlmetry, OpenInference, TraceAi, Mlflow, Langfuse, Logfire, OpenLit, VercelAi, VercelGenAi,
         Vllm, GenAiSemconv)
KNOWN = tuple(cls.name for cls in ORDER)
AUTO = "auto"


def select(names: list[str]) -> list[Convention]:
    """The adapters named (`auto`: all), in precedence order whatever the order of `names`."""
    unknown = sorted({name for name in names if name != AUTO and name not in KNOWN})
    if unknown:
        raise ValueError(f"unknown convention(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join((AUTO, *KNOWN))}")
    wanted = set(KNOWN) if AUTO in names else set(names)
    return [cls() for cls in ORDER if cls.name in wanted]


def read_llm_call(span: Any, resource: Any, scope: Any, conventions: list[Convention]) -> LlmCall | None:
    """The LLM call a decoded protobuf span records, read by the first convention that recognises it; None for any
    other span. A span with no LLM attribute at all is rejected after one pass over its keys."""
    if not looks_like_llm(span):
        return None
    view = None
    for convention in conventions:
        read_span = getattr(convention, "read_span", None)
        if read_span is None:  # a Convention with only the protocol's `read`
            call = convention.read(span, resource, scope)
        else:  # one LlmSpan for every adapter
            view = view if view is not None else from_protobuf(span, resource, scope, NO_CLAIMS)
            call = read_span(view)
        if call is not None:
            return call
    return None


def read_llm_span(span: LlmSpan, conventions: list[Convention]) -> LlmCall | None:
    """The LLM call an `LlmSpan` records, read by the first convention that recognises it; None for any other span
    (every convention must have `read_span`, as the SpanConvention adapters do)."""
    if not has_llm_key(span):
        return None
    for convention in conventions:
        call = convention.read_span(span)
        if call is not None:
            return call
    return None
