from processor.component import Factory, Kind
from processor.model.batch import Signal
from processor.processors.reconnect.config import ReconnectConfig
from processor.processors.reconnect.processor import ReconnectProcessor

factory = Factory(
    type="reconnect",
    kind=Kind.PROCESSOR,
    config_model=ReconnectConfig,
    create=lambda settings, config, next_consumer: ReconnectProcessor(settings, config, next_consumer),
    signals=frozenset({Signal.TRACES}),
    description="marks a new stream in a session right after an aborted or truncated one as its reconnect",
)
