from processor.component import Factory, Kind
from processor.model.batch import Signal
from processor.receivers.kafka.config import KafkaReceiverConfig
from processor.receivers.kafka.receiver import KafkaReceiver

factory = Factory(
    type="kafka",
    kind=Kind.RECEIVER,
    config_model=KafkaReceiverConfig,
    create=lambda settings, config, next_consumer: KafkaReceiver(settings, config, next_consumer),
    signals=frozenset({Signal.TRACES}),
    description="OTLP trace requests (otlp_proto, otlp_json) from a Kafka topic, as one member of a consumer "
                "group; offsets committed once downstream took the records",
)

__all__ = ["KafkaReceiver", "KafkaReceiverConfig", "factory"]
