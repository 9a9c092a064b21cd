"""The otlp receiver: OTLP/gRPC and OTLP/HTTP (protobuf and JSON) for traces, logs and metrics."""

from processor.component import Factory, Kind
from processor.model.batch import Signal
from processor.receivers.otlp.config import OtlpReceiverConfig
from processor.receivers.otlp.receiver import OtlpReceiver

factory = Factory(
    type="otlp",
    kind=Kind.RECEIVER,
    config_model=OtlpReceiverConfig,
    create=lambda settings, config, next_consumer: OtlpReceiver(settings, config, next_consumer),
    signals=frozenset(Signal),
    description="OTLP over gRPC (4317) and HTTP (4318): protobuf and JSON, gzip, TLS/mTLS, bearer auth",
)
