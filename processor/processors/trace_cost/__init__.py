from processor.component import Factory, Kind
from processor.model.batch import Signal
from processor.processors.trace_cost.config import TraceCostConfig
from processor.processors.trace_cost.processor import TraceCostProcessor

factory = Factory(
    type="trace_cost",
    kind=Kind.PROCESSOR,
    config_model=TraceCostConfig,
    create=lambda settings, config, next_consumer: TraceCostProcessor(settings, config, next_consumer),
    signals=frozenset({Signal.TRACES}),
    description="one cost rollup per trace (total, tokens, streams, retries' share), after its last record",
)
