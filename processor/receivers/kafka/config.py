"""The kafka receiver's config: what to read (topic, group, encoding) and how to behave when downstream refuses.

Client settings (brokers incl. `embedded`, client_id, tls, sasl) are the same as the kafka exporter's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from processor.config.types import Duration
from processor.kafka.client import KafkaClientConfig

#: The edge tier's raw spans topic (pipelines/edge.yaml). Not `llm.spans`, which the processing tier writes:
#: a processing tier reading its own output would loop.
DEFAULT_TOPIC = "llm.spans.raw"


class BackoffConfig(BaseModel):
    """Waits between attempts when downstream is full or down (RetryableError); its retry_after wins when longer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    initial_interval: Duration = 0.5
    max_interval: Duration = 30.0
    multiplier: float = Field(2.0, ge=1.0)


class KafkaReceiverConfig(KafkaClientConfig):
    topic: str = Field(DEFAULT_TOPIC, min_length=1)
    #: Every replica with the same group id shares the topic's partitions.
    group_id: str = Field("tokenstream", min_length=1)
    #: How a record without a content-type header is decoded (the Collector's Kafka exporter writes none);
    #: a record with `application/x-protobuf` or `application/json` is decoded by its header.
    encoding: Literal["otlp_proto", "otlp_json"] = "otlp_proto"
    #: Where a group with no committed offset starts: `earliest` so that nothing the edge wrote before the
    #: processing tier first started is skipped.
    initial_offset: Literal["earliest", "latest"] = "earliest"
    #: Records handed downstream as one batch, at most.
    max_poll_records: int = Field(500, gt=0)
    session_timeout: Duration = 10.0
    heartbeat_interval: Duration = 3.0
    backoff: BackoffConfig = Field(default_factory=BackoffConfig)

    @field_validator("heartbeat_interval")
    @classmethod
    def _heartbeat_within_session(cls, value: float, info: ValidationInfo) -> float:
        session = info.data.get("session_timeout")
        if not 0 < value < (session or float("inf")):
            raise ValueError(f"heartbeat_interval ({value}s) must be above 0 and below session_timeout ({session}s)")
        return value
