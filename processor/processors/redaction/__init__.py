from processor.component import Factory, Kind
from processor.model.batch import Signal
from processor.processors.redaction.config import RedactionConfig
from processor.processors.redaction.processor import RedactionProcessor

factory = Factory(
    type="redaction",
    kind=Kind.PROCESSOR,
    config_model=RedactionConfig,
    create=lambda settings, config, next_consumer: RedactionProcessor(settings, config, next_consumer),
    signals=frozenset({Signal.TRACES, Signal.LOGS}),
    description="drops or HMAC-hashes prompt and completion content (every GenAI convention) and gen_ai.headers",
)
