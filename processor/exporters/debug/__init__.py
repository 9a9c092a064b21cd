from processor.component import Factory, Kind
from processor.exporters.debug.config import DebugConfig
from processor.exporters.debug.exporter import DebugExporter

factory = Factory(
    type="debug",
    kind=Kind.EXPORTER,
    config_model=DebugConfig,
    create=lambda settings, config, _next: DebugExporter(settings, config),
    description="logs a summary line per batch; more at higher verbosity",
)
