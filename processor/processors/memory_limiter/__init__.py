from processor.component import Factory, Kind
from processor.processors.memory_limiter.config import MemoryLimiterConfig
from processor.processors.memory_limiter.processor import MemoryLimiterProcessor

factory = Factory(
    type="memory_limiter",
    kind=Kind.PROCESSOR,
    config_model=MemoryLimiterConfig,
    create=lambda settings, config, next_consumer: MemoryLimiterProcessor(settings, config, next_consumer),
    description="refuses data (UNAVAILABLE/503, retry later) while the process uses more memory than its limit",
)
