"""`otlphttp`: traces, logs and metrics to an OTLP/HTTP backend, protobuf (or JSON), as the Collector's exporter."""

from processor.component import Factory, Kind
from processor.exporters.otlp.exporter import OtlpExporter
from processor.exporters.otlphttp.config import OtlpHttpExporterConfig
from processor.exporters.otlphttp.transport import HttpTransport

factory = Factory(
    type="otlphttp",
    kind=Kind.EXPORTER,
    config_model=OtlpHttpExporterConfig,
    create=lambda settings, config, _next: OtlpExporter(settings, config, HttpTransport(config)),
    description="enriched spans, logs and metrics to an OTLP/HTTP backend, counted when it has answered",
)

__all__ = ["OtlpHttpExporterConfig", "factory"]
