from processor.component import Factory, Kind
from processor.conventions import read_llm_call, select
from processor.processors.stream_reconstruct.config import StreamReconstructConfig
from processor.processors.stream_reconstruct.processor import StreamReconstructProcessor

factory = Factory(
    type="stream_reconstruct",
    kind=Kind.PROCESSOR,
    config_model=StreamReconstructConfig,
    create=lambda settings, config, next_consumer: StreamReconstructProcessor(
        settings, config, next_consumer, conventions=select(config.conventions), read=read_llm_call),
    description="reads streamed LLM calls through the conventions and emits a stream record per call",
)
