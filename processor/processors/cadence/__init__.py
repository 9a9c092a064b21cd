from processor.component import Factory, Kind
from processor.processors.cadence.config import CadenceConfig
from processor.processors.cadence.processor import CadenceProcessor

factory = Factory(
    type="cadence",
    kind=Kind.PROCESSOR,
    config_model=CadenceConfig,
    create=lambda settings, config, next_consumer: CadenceProcessor(settings, config, next_consumer),
    description="TTFT, TPOT, gap percentiles, stalls and throughput of each stream record",
)
