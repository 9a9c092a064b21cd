from processor.component import Factory, Kind
from processor.extensions.streamz.config import StreamzConfig
from processor.extensions.streamz.extension import StreamzExtension

factory = Factory(
    type="streamz",
    kind=Kind.EXTENSION,
    config_model=StreamzConfig,
    create=lambda settings, config, _next: StreamzExtension(settings, config),
    description="live page of the most recent streams (timeline, stalls, anomalies), fed by the streamz exporter",
)
