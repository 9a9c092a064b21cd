"""The kafka exporter's config: topics, encodings, producer settings, retry and the sending queue."""

from __future__ import annotations

import random
from typing import Any, Literal

from aiokafka import codec
from pydantic import BaseModel, ConfigDict, Field, field_validator

from processor.config.types import Duration, Size
from processor.kafka.client import KafkaClientConfig

MIB = 1 << 20
_COMPRESSION_LIBRARIES = {"snappy": (codec.has_snappy, "cramjam"), "lz4": (codec.has_lz4, "cramjam"),
                          "zstd": (codec.has_zstd, "cramjam")}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicsConfig(_Section):
    """Topic names; null turns that output off."""

    spans: str | None = "llm.spans"
    streams: str | None = "llm.streams"
    anomalies: str | None = "llm.stream.anomalies"
    trace_costs: str | None = "llm.trace.costs"


class EncodingConfig(_Section):
    spans: Literal["otlp_proto", "otlp_json"] = "otlp_proto"
    records: Literal["proto", "json"] = "proto"


class RetryConfig(_Section):
    """Backoff between attempts on retriable errors. `max_elapsed_time: 0` retries without a deadline.

    With a persistent queue the deadline does not apply: records on disk are retried until the broker
    is back, since they were already acknowledged upstream.
    """

    initial_interval: Duration = 0.5
    max_interval: Duration = 30.0
    max_elapsed_time: Duration = 300.0
    multiplier: float = Field(1.5, ge=1.0)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait before attempt `attempts + 1`: exponential from initial_interval, capped, +-20% jitter."""
        growth = self.multiplier ** (attempts - 1)
        return min(self.max_interval, self.initial_interval * growth) * random.uniform(0.8, 1.2)


class StorageConfig(_Section):
    directory: str


class SendingQueueConfig(_Section):
    #: Records (Kafka messages) waiting for the broker's acknowledgement, at most.
    queue_size: int = Field(1000, gt=0)
    when_full: Literal["block", "drop_newest"] = "block"
    storage: StorageConfig | None = None


class DeadLetterConfig(_Section):
    """A JSON Lines file for records Kafka will never take (one span larger than max_message_bytes, a record the
    broker refused for good): each is kept there, counted and logged, instead of being dropped."""

    path: str
    #: The file takes nothing more beyond this size (records are then only counted and logged), so that a client
    #: sending oversized spans cannot fill the disk.
    max_size: Size = Field(1 << 30, gt=0)


class CreateTopicsConfig(_Section):
    partitions: int = Field(1, gt=0)
    replication_factor: int = Field(1, gt=0)


class KafkaExporterConfig(KafkaClientConfig):
    topics: TopicsConfig = Field(default_factory=TopicsConfig)
    encoding: EncodingConfig = Field(default_factory=EncodingConfig)
    #: One spans message per trace, keyed by its trace id.
    partition_by_trace_id: bool = True
    #: The largest record (value, key and headers; 256 bytes are kept for key, headers and framing). A trace's
    #: spans are split over several records to fit; one span larger than this cannot be split: it is refused to
    #: its client (OTLP partial success) and kept in `dead_letter`, decided before anything is acknowledged.
    max_message_bytes: Size = Field(MIB, gt=1024)
    acks: Literal["all", 0, 1] = "all"
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"
    linger: Duration = 0.005
    max_batch_size: Size = Field(256 * 1024, gt=0)
    request_timeout: Duration = 30.0
    retry: RetryConfig = Field(default_factory=RetryConfig)
    create_topics: CreateTopicsConfig | None = None
    sending_queue: SendingQueueConfig = Field(default_factory=SendingQueueConfig)
    #: Unset with a persistent sending queue: `dead-letter.jsonl` in the queue's directory. Unset without one:
    #: no file; such records are refused to their clients and counted.
    dead_letter: DeadLetterConfig | None = None
    #: How long shutdown waits for queued records to be acknowledged.
    flush_timeout: Duration = 10.0

    @field_validator("acks", mode="before")
    @classmethod
    def _acks(cls, value: Any) -> Any:
        if value in (-1, "-1"):
            return "all"
        return int(value) if value in ("0", "1") else value

    @field_validator("compression")
    @classmethod
    def _compression_available(cls, value: str) -> str:
        needed = _COMPRESSION_LIBRARIES.get(value)
        if needed and not needed[0]():
            raise ValueError(f'"{value}" compression needs the Python package {needed[1]}; use none or gzip, '
                             f"or install {needed[1]}")
        return value
