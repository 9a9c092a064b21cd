from processor.component import Factory, Kind
from processor.processors.batch.config import BatchConfig
from processor.processors.batch.processor import BatchProcessor

factory = Factory(
    type="batch",
    kind=Kind.PROCESSOR,
    config_model=BatchConfig,
    create=lambda settings, config, next_consumer: BatchProcessor(settings, config, next_consumer),
    description="merges small batches into bigger ones, sent by size or after a timeout",
)
