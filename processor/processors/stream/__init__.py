from processor.component import Factory, Kind
from processor.conventions import read_llm_call, select
from processor.model.batch import Signal
from processor.processors.stream.config import StreamConfig
from processor.processors.stream.processor import StreamProcessor

factory = Factory(
    type="stream",
    kind=Kind.PROCESSOR,
    config_model=StreamConfig,
    create=lambda settings, config, next_consumer: StreamProcessor(
        settings, config, next_consumer, conventions=select(config.conventions), read=read_llm_call),
    signals=frozenset({Signal.TRACES, Signal.LOGS}),
    description="reads each streamed LLM call once and emits its stream record: TTFT, cadence, stalls, retries, "
                "outcome, cost and content check",
)
