from processor.component import Factory, Kind
from processor.model.batch import Signal
from processor.processors.content_check.config import ContentCheckConfig
from processor.processors.content_check.processor import ContentCheckProcessor

factory = Factory(
    type="content_check",
    kind=Kind.PROCESSOR,
    config_model=ContentCheckConfig,
    create=lambda settings, config, next_consumer: ContentCheckProcessor(settings, config, next_consumer),
    signals=frozenset({Signal.TRACES, Signal.LOGS}),
    description="rebuilds a stream's text from its chunks and flags a mismatch with the recorded completion",
)
