"""`prometheus`: the stream metrics (TTFT, TPOT, duration, tokens, outcomes, stalls, cost) on `/metrics`."""

from processor.component import Factory, Kind
from processor.exporters.prometheus.config import PrometheusConfig
from processor.exporters.prometheus.exporter import PrometheusExporter

factory = Factory(
    type="prometheus",
    kind=Kind.EXPORTER,
    config_model=PrometheusConfig,
    create=lambda settings, config, _next: PrometheusExporter(settings, config),
    description="serves per-stream LLM metrics and tokenstream's own on /metrics for Prometheus",
)
