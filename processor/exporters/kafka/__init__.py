from processor.component import Factory, Kind
from processor.exporters.kafka.config import KafkaExporterConfig
from processor.exporters.kafka.exporter import KafkaExporter
from processor.model.batch import Signal

factory = Factory(
    type="kafka",
    kind=Kind.EXPORTER,
    config_model=KafkaExporterConfig,
    create=lambda settings, config, _next: KafkaExporter(settings, config),
    # Spans come from traces pipelines; stream records and anomalies from either.
    signals=frozenset({Signal.TRACES, Signal.LOGS}),
    description="spans, stream records and anomalies to Kafka topics, counted when the broker acknowledges",
)

__all__ = ["KafkaExporter", "KafkaExporterConfig", "factory"]
