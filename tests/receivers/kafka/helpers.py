"""Helpers for the kafka receiver tests: topics with partitions, a producer, loadgen traffic keyed by trace id,
waits, and a downstream that fails a few times before it takes a batch."""

from __future__ import annotations

import asyncio
import logging
import random

from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition

from processor.errors import RetryableError
from processor.kafka.topics import create_topics
from processor.loadgen.profiles import draw
from processor.loadgen.spans import TraceBuilder
from processor.receivers.kafka import KafkaReceiver
from processor.testing import SinkConsumer

LOG = logging.getLogger("test.kafka.receiver")


async def make_topic(bootstrap: str, topic: str, partitions: int = 1) -> str:
    await create_topics({"bootstrap_servers": bootstrap}, [topic], partitions=partitions, replication_factor=1,
                        log=LOG)
    return topic


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes, list]]) -> None:
    """(key, value, headers) each, acknowledged by the broker before this returns."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key, headers=headers) for key, value, headers in messages]
        await asyncio.wait_for(asyncio.gather(*futures), 20)
    finally:
        await producer.stop()


def loadgen_traces(count: int, *, profile: str = "retries", seed: int = 7):
    """`count` traces as the loadgen makes them, one request each: [(trace_id, request)]."""
    rng = random.Random(seed)
    traces = []
    for _ in range(count):
        builder = TraceBuilder(rng)
        builder.add(draw(profile, rng))
        request = builder.request
        trace_id = request.resource_spans[0].scope_spans[0].spans[0].trace_id
        traces.append((trace_id, request))
    return traces


async def committed(receiver: KafkaReceiver, topic: str, partitions: int = 1) -> dict[int, int | None]:
    consumer = receiver.consumer
    return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}


async def wait_committed(receiver: KafkaReceiver, topic: str, expected: dict[int, int | None],
                         timeout: float = 20.0) -> None:
    """Commits follow the consume that returned: poll until the group's offsets are `expected`."""
    clock = asyncio.get_running_loop().time
    deadline = clock() + timeout
    while (found := await committed(receiver, topic, len(expected))) != expected:
        if clock() > deadline:
            raise AssertionError(f"committed offsets {found}, expected {expected}")
        await asyncio.sleep(0.1)


async def wait_until(condition, timeout: float = 20.0, what: str = "condition") -> None:
    clock = asyncio.get_running_loop().time
    deadline = clock() + timeout
    while not condition():
        if clock() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


class FailsThenTakes(SinkConsumer):
    """Raises RetryableError for the first `failures` batches, then keeps batches as the sink does."""

    def __init__(self, failures: int, retry_after: float = 0.05) -> None:
        super().__init__()
        self.failures = failures
        self.retry_after = retry_after
        self.attempts = 0

    async def consume(self, batch) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise RetryableError("downstream is full", retry_after=self.retry_after)
        await super().consume(batch)
