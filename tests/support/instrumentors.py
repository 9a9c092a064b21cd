"""The real LLM instrumentations the driver can activate, by name. Each patches the `openai` module globally,
which is why every driven call runs in its own process."""

from __future__ import annotations

import os
from collections.abc import Callable

from tests.support.otel_setup import Providers

# openai-v2's "latest experimental" mode reads these when it is instrumented.
_V2_LATEST_ENV = {
    "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_and_event",
    "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT": "true",
}


def _kwargs(providers: Providers) -> dict[str, object]:
    kwargs: dict[str, object] = {"tracer_provider": providers.tracer_provider,
                                 "logger_provider": providers.logger_provider}
    if providers.meter_provider is not None:
        kwargs["meter_provider"] = providers.meter_provider
    return kwargs


def _traceloop(providers: Providers, *, use_attributes: bool = True) -> None:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor(use_attributes=use_attributes).instrument(**_kwargs(providers))


def _openinference(providers: Providers) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=providers.tracer_provider)


# Default mode with message content captured, as the reference captures were made: the gen_ai.choice log then
# holds the streamed text, the only sign openai-v2 leaves that chunks arrived before a failure.
_V2_DEFAULT_ENV = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}


def _openai_v2(providers: Providers, *, latest: bool = False) -> None:
    os.environ.update(_V2_LATEST_ENV if latest else _V2_DEFAULT_ENV)
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(**_kwargs(providers))


INSTRUMENTATIONS: dict[str, Callable[[Providers], None]] = {
    "traceloop": _traceloop,
    "traceloop_events": lambda providers: _traceloop(providers, use_attributes=False),
    "openinference": _openinference,
    "openai_v2": _openai_v2,
    "openai_v2_latest": lambda providers: _openai_v2(providers, latest=True),
    "none": lambda providers: None,
}


def activate(name: str, providers: Providers) -> None:
    if name not in INSTRUMENTATIONS:
        raise ValueError(f"unknown instrumentation {name!r}; known: {sorted(INSTRUMENTATIONS)}")
    INSTRUMENTATIONS[name](providers)


def available(name: str) -> bool:
    """True when the instrumentation's package is installed (tests skip the others)."""
    import importlib.util

    modules = {"traceloop": "opentelemetry.instrumentation.openai",
               "openinference": "openinference.instrumentation.openai",
               "openai_v2": "opentelemetry.instrumentation.openai_v2", "none": "openai"}
    base = name.removesuffix("_events").removesuffix("_latest")
    try:
        return importlib.util.find_spec(modules[base]) is not None
    except (KeyError, ModuleNotFoundError):
        return False
