from processor.component import Factory, Kind
from processor.exporters.streamz.config import StreamzExporterConfig
from processor.exporters.streamz.exporter import StreamzExporter
from processor.model.batch import Signal

factory = Factory(
    type="streamz",
    kind=Kind.EXPORTER,
    config_model=StreamzExporterConfig,
    create=lambda settings, config, _next: StreamzExporter(settings, config),
    signals=frozenset({Signal.TRACES}),
    description="feeds stream records and anomalies to the streamz extension's live page",
)
