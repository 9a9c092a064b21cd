"""The bench's broker, and what was delivered to it: every record on a topic is read back after the run.

KAFKA_BOOTSTRAP_SERVERS points the bench at a running Kafka; without it an embedded Tansu broker starts
(processor/kafka/embedded.py). Each measured run writes to topics of its own, so runs never see each other's records.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Iterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.kafka.embedded import EmbeddedBroker
from processor.model.batch import Signal, count_items


@dataclasses.dataclass(frozen=True)
class Broker:
    bootstrap: str
    #: The embedded broker's process (its CPU shares the host with the server's); none for an external broker.
    pids: tuple[int, ...] = ()


@contextlib.contextmanager
def broker() -> Iterator[Broker]:
    """The broker to use."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield Broker(external)
        return
    embedded = EmbeddedBroker()
    embedded.start()
    try:
        yield Broker(embedded.bootstrap, (embedded.process.pid,))
    finally:
        embedded.stop()


async def _read(bootstrap: str, topic: str, count_spans: bool, timeout: float) -> int:
    """Records on `topic` (or the spans they hold, with `count_spans`), reading from the start to the end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                max_partition_fetch_bytes=8 * 2**20, fetch_max_bytes=64 * 2**20)
    await consumer.start()
    try:
        if topic not in await consumer.topics():  # fetches metadata; a topic never written to does not exist
            return 0
        partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in partitions]
        if not assigned:
            return 0
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        total = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            if loop.time() > deadline:
                raise TimeoutError(f"reading {topic} back took over {timeout}s")
            fetched = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in fetched.values():
                for record in records:
                    total += _spans(record.value) if count_spans else 1
        return total
    finally:
        await consumer.stop()


def _spans(value: bytes) -> int:
    return count_items(Signal.TRACES, ExportTraceServiceRequest.FromString(value))


def delivered(bootstrap: str, topics: dict[str, str], timeout: float = 300.0) -> dict[str, int]:
    """{"spans": spans in the spans topic, "streams": stream records, ...}."""
    return {kind: asyncio.run(_read(bootstrap, topic, kind == "spans", timeout)) for kind, topic in topics.items()}
