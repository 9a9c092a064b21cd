from processor.component import Factory, Kind
from processor.model.batch import Signal
from processor.processors.feedback.config import FeedbackConfig
from processor.processors.feedback.processor import FeedbackProcessor

factory = Factory(
    type="feedback",
    kind=Kind.PROCESSOR,
    config_model=FeedbackConfig,
    create=lambda settings, config, next_consumer: FeedbackProcessor(settings, config, next_consumer),
    signals=frozenset({Signal.TRACES, Signal.LOGS}),
    description="joins user feedback (span events, log records) to its stream and its experience class",
)
