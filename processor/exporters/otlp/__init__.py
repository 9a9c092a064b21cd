"""`otlp`: traces, logs and metrics to an OTLP/gRPC backend (a Collector, Tempo, Jaeger, Phoenix, a vendor)."""

from processor.component import Factory, Kind
from processor.exporters.otlp.config import OtlpExporterConfig
from processor.exporters.otlp.exporter import OtlpExporter
from processor.exporters.otlp.grpc_transport import GrpcTransport

factory = Factory(
    type="otlp",
    kind=Kind.EXPORTER,
    config_model=OtlpExporterConfig,
    create=lambda settings, config, _next: OtlpExporter(settings, config, GrpcTransport(config)),
    description="enriched spans, logs and metrics to an OTLP/gRPC backend, counted when it has answered",
)

__all__ = ["OtlpExporter", "OtlpExporterConfig", "factory"]
