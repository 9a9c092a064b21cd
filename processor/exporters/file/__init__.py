from processor.component import Factory, Kind
from processor.exporters.file.config import FileConfig
from processor.exporters.file.exporter import FileExporter

factory = Factory(
    type="file",
    kind=Kind.EXPORTER,
    config_model=FileConfig,
    create=lambda settings, config, _next: FileExporter(settings, config),
    description="writes JSON Lines: OTLP/JSON requests, stream records or anomalies",
)
