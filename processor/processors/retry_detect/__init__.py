from processor.component import Factory, Kind
from processor.processors.retry_detect.config import RetryDetectConfig
from processor.processors.retry_detect.processor import RetryDetectProcessor

factory = Factory(
    type="retry_detect",
    kind=Kind.PROCESSOR,
    config_model=RetryDetectConfig,
    create=lambda settings, config, next_consumer: RetryDetectProcessor(settings, config, next_consumer),
    description="flags retries after partial output (app level) and retries inside one call (SDK level)",
)
