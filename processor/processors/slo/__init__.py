from processor.component import Factory, Kind
from processor.model.batch import Signal
from processor.processors.slo.config import SloConfig
from processor.processors.slo.processor import SloProcessor

factory = Factory(
    type="slo",
    kind=Kind.PROCESSOR,
    config_model=SloConfig,
    create=lambda settings, config, next_consumer: SloProcessor(settings, config, next_consumer),
    signals=frozenset({Signal.TRACES}),
    description="p95 time to first token per route and model against a threshold: slow_first_token breaches",
)
