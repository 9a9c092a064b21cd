"""How an app sets up each instrumentation library that brings its own way of exporting, as its docs say to.

Each runs in the library's own virtualenv (tests.support.venvs) inside `tests.support.instrumented_run`, and gets
the OTLP endpoints of the receiver under test: `grpc` (host:port) and `http` (a base URL). Libraries that install a
TracerProvider of their own (traceAI's `register()`, Logfire, Langfuse) or keep one apart (MLflow) are set up that
way, not with the harness's provider, so what is exported is what a user of that library would export.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable

from tests.support.otel_setup import Providers, setup_otel

#: A function that sets the library up and returns the providers to flush at the end.
Setup = Callable[[str, str, str], Providers]


def _traceai(grpc: str, http: str, service: str) -> Providers:
    """A plain OTel TracerProvider (the harness's) with traceAI's OpenAI instrumentor."""
    from traceai_openai import OpenAIInstrumentor

    providers = setup_otel(grpc, service_name=service)
    OpenAIInstrumentor().instrument(tracer_provider=providers.tracer_provider)
    return providers


def _traceai_register(grpc: str, http: str, service: str) -> Providers:
    """traceAI's own `register()`: Future AGI's TracerProvider, its resource (project attributes, no service.name)
    and its gRPC exporter, pointed at the receiver by FI_GRPC_URL (FI_BASE_URL too, so nothing leaves the machine)."""
    os.environ["FI_GRPC_URL"] = f"http://{grpc}"
    os.environ["FI_BASE_URL"] = http
    from fi_instrumentation import register
    from fi_instrumentation.fi_types import ProjectType
    from fi_instrumentation.otel import Transport
    from traceai_openai import OpenAIInstrumentor

    provider = register(project_name=service, project_type=ProjectType.OBSERVE, transport=Transport.GRPC,
                        set_global_tracer_provider=True, verbose=False)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    providers = setup_otel(grpc, service_name=service, tracer_provider=False)
    providers.tracer_provider = provider
    return providers


def _mlflow(grpc: str, http: str, service: str) -> Providers:
    """MLflow tracing with OTLP export (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT replaces MLflow's own export) and
    OpenAI autologging. MLflow keeps its own TracerProvider and context apart from the global ones (its default), so
    a bare call's span roots a trace of its own: the app's `llm_trace` events name them. An app that retries runs its
    retry loop inside an MLflow span (`mlflow.start_span`, as `@mlflow.trace` on the app's function would), so both
    attempts are children of that span in its trace."""
    os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = f"http://{grpc}"
    os.environ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "grpc"
    os.environ["OTEL_SERVICE_NAME"] = service
    # mlflow-tracing is the client of a tracking server: it needs a server URI even when OTLP export replaces the
    # server's. Nothing listens there; with the OTLP endpoint set, spans never go to it.
    os.environ.setdefault("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    import mlflow
    import mlflow.openai

    providers = setup_otel(grpc, service_name=service)
    mlflow.openai.autolog()
    from mlflow.tracing.provider import get_bridged_tracer_provider

    own = get_bridged_tracer_provider()
    roots = _RootTraces()
    own.add_span_processor(roots)
    providers.flushers.append(lambda: own.force_flush(10_000))
    providers.attempt_trace_id = roots.last
    providers.retry_span = lambda: mlflow.start_span(name="harness.app")
    return providers


class _RootTraces:
    """A span processor that notes the trace id of each root span started (MLflow's calls root their own)."""

    def __init__(self) -> None:
        self.trace_ids: list[str] = []

    def on_start(self, span, parent_context=None) -> None:  # noqa: ANN001 - the SDK's SpanProcessor interface
        if span.parent is None:
            self.trace_ids.append(f"{span.context.trace_id:032x}")

    def on_end(self, span) -> None:  # noqa: ANN001
        pass

    def _on_ending(self, span) -> None:  # noqa: ANN001
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def last(self) -> str | None:
        return self.trace_ids[-1] if self.trace_ids else None


def _langfuse(grpc: str, http: str, service: str) -> Providers:
    """The Langfuse SDK (OTel-based) with its drop-in OpenAI integration. It makes the global TracerProvider itself
    (so it is created first) and exports with its own OTLP/HTTP span exporter, pointed at the receiver's
    /v1/traces by base_url + LANGFUSE_OTEL_TRACES_EXPORT_PATH, as for any OTLP backend. Its span filter keeps only
    LLM spans: the harness's parent span is not exported."""
    os.environ["LANGFUSE_OTEL_TRACES_EXPORT_PATH"] = "v1/traces"
    os.environ["LANGFUSE_TRACING_ENVIRONMENT"] = "test"
    os.environ["OTEL_SERVICE_NAME"] = service
    from langfuse import Langfuse
    from opentelemetry import trace

    client = Langfuse(public_key="pk-lf-test", secret_key="sk-lf-test", base_url=http, flush_interval=0.2)
    import langfuse.openai  # noqa: F401 - patches the openai module, as `from langfuse.openai import openai` does

    providers = setup_otel(grpc, service_name=service, tracer_provider=False)
    providers.tracer_provider = trace.get_tracer_provider()
    providers.flushers.append(lambda: client.flush() or True)
    return providers


def _logfire(grpc: str, http: str, service: str) -> Providers:
    """Pydantic Logfire configured not to send to Logfire but to the OTLP endpoint in OTEL_EXPORTER_OTLP_ENDPOINT
    (its documented way to use another backend; OTLP/HTTP), with `instrument_openai()`."""
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = http
    import logfire

    logfire.configure(send_to_logfire=False, service_name=service, console=False, metrics=False,
                      inspect_arguments=False)
    logfire.instrument_openai()
    providers = setup_otel(grpc, service_name=service, tracer_provider=False)
    from opentelemetry import trace

    providers.tracer_provider = trace.get_tracer_provider()
    providers.flushers.append(lambda: logfire.force_flush() or True)
    return providers


def _openlit(grpc: str, http: str, service: str) -> Providers:
    """OpenLIT on the app's already-configured OTel providers (it reuses them), with a local pricing file so that
    init fetches nothing."""
    providers = setup_otel(grpc, service_name=service)
    import openlit

    pricing = os.path.join(tempfile.mkdtemp(prefix="openlit-"), "pricing.json")
    with open(pricing, "w", encoding="utf-8") as handle:
        json.dump({"chat": {"gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006}}}, handle)
    openlit.init(application_name=service, service_name=service, environment="test", pricing_json=pricing,
                 disable_metrics=True)
    return providers


SETUPS: dict[str, Setup] = {
    "traceai": _traceai,
    "traceai_register": _traceai_register,
    "mlflow": _mlflow,
    "langfuse": _langfuse,
    "logfire": _logfire,
    "openlit": _openlit,
}
