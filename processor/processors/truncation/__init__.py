from processor.component import Factory, Kind
from processor.processors.truncation.config import TruncationConfig
from processor.processors.truncation.processor import TruncationProcessor

factory = Factory(
    type="truncation",
    kind=Kind.PROCESSOR,
    config_model=TruncationConfig,
    create=lambda settings, config, next_consumer: TruncationProcessor(settings, config, next_consumer),
    description="sets outcome (completed/truncated/aborted/error) and truncation_reason of each stream record",
)
