"""The real OTel SDK pipeline a driven app uses: providers + OTLP exporters (gRPC `host:port` or an HTTP URL)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

FLUSH_TIMEOUT_MS = 10_000


@dataclasses.dataclass
class Providers:
    tracer_provider: Any  # the SDK's TracerProvider, or a library's subclass of it
    logger_provider: LoggerProvider
    meter_provider: MeterProvider | None
    #: Flushes of a library's own exporters (Langfuse, MLflow's isolated provider), run first; each returns True
    #: when it completed.
    flushers: list[Callable[[], bool]] = dataclasses.field(default_factory=list)
    #: For a library whose LLM spans root traces of their own (MLflow): the hex trace id of the last call.
    attempt_trace_id: Callable[[], str | None] | None = None
    #: For such a library: the span of its own an app that retries runs its retry loop in (`mlflow.start_span`), as
    #: its users do, so that the attempts are children of one span in one trace.
    retry_span: Callable[[], contextlib.AbstractContextManager] | None = None

    def flush_and_shutdown(self) -> bool:
        """Force-flush every signal, then shut down; True when all flushes completed in time."""
        flushed = all([flush() for flush in self.flushers])
        flushed = self.tracer_provider.force_flush(FLUSH_TIMEOUT_MS) and flushed
        flushed = self.logger_provider.force_flush(FLUSH_TIMEOUT_MS) and flushed
        if self.meter_provider is not None:
            flushed = self.meter_provider.force_flush(FLUSH_TIMEOUT_MS) and flushed
            self.meter_provider.shutdown()
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        return flushed


def _exporters(endpoint: str, headers: dict[str, str]):  # noqa: ANN202 - three exporter classes
    if endpoint.startswith(("http://", "https://")):
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = endpoint.rstrip("/")
        return (OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=headers),
                OTLPLogExporter(endpoint=f"{base}/v1/logs", headers=headers),
                lambda: OTLPMetricExporter(endpoint=f"{base}/v1/metrics", headers=headers))
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    grpc_headers = tuple(headers.items()) or None
    return (OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=grpc_headers),
            OTLPLogExporter(endpoint=endpoint, insecure=True, headers=grpc_headers),
            lambda: OTLPMetricExporter(endpoint=endpoint, insecure=True, headers=grpc_headers))


def setup_otel(endpoint: str, *, service_name: str, headers: dict[str, str] | None = None,
               span_processor: str = "batch", metrics_enabled: bool = False, tracer_provider: bool = True) -> Providers:
    """Install global providers exporting to `endpoint`; metrics only when asked (not every receiver takes them).

    `tracer_provider=False`: the library installed the global TracerProvider itself; only logs (and metrics) here.
    """
    resource = Resource.create({"service.name": service_name})
    span_exporter, log_exporter, metric_exporter = _exporters(endpoint, headers or {})
    provider = None
    if tracer_provider:
        provider = TracerProvider(resource=resource)
        processor = SimpleSpanProcessor(span_exporter) if span_processor == "simple" \
            else BatchSpanProcessor(span_exporter)
        provider.add_span_processor(processor)
        trace.set_tracer_provider(provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    meter_provider = None
    if metrics_enabled:
        reader = PeriodicExportingMetricReader(metric_exporter(), export_interval_millis=60_000)
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        metrics.set_meter_provider(meter_provider)
    _logs.set_logger_provider(logger_provider)
    return Providers(provider, logger_provider, meter_provider)
