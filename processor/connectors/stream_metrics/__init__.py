"""`stream_metrics`: a connector from traces (or logs) pipelines to metrics pipelines: the stream metrics the
prometheus exporter serves, as OTLP metrics, for an `otlp` or `otlphttp` exporter."""

from processor.component import Factory, Kind
from processor.connectors.stream_metrics.config import StreamMetricsConfig
from processor.connectors.stream_metrics.connector import StreamMetricsConnector
from processor.model.batch import Signal

factory = Factory(
    type="stream_metrics",
    kind=Kind.CONNECTOR,
    config_model=StreamMetricsConfig,
    create=lambda settings, config, next_consumer: StreamMetricsConnector(settings, config, next_consumer),
    signals=frozenset({Signal.TRACES, Signal.LOGS}),
    emits=frozenset({Signal.METRICS}),
    description="TTFT/TPOT/duration/token histograms and stream counters, as OTLP metrics for a metrics pipeline",
)

__all__ = ["StreamMetricsConfig", "StreamMetricsConnector", "factory"]
