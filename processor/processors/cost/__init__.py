from processor.component import Factory, Kind
from processor.processors.cost.config import CostConfig
from processor.processors.cost.processor import CostProcessor

factory = Factory(
    type="cost",
    kind=Kind.PROCESSOR,
    config_model=CostConfig,
    create=lambda settings, config, next_consumer: CostProcessor(settings, config, next_consumer),
    description="fills cost_usd of each stream record from a price table",
)
