"""Kafka fixtures: a real broker for the whole session, unique topics, a consumer helper, and a broker
a test may stop and start again (for outage tests).

The session broker is `KAFKA_BOOTSTRAP_SERVERS` when set, else the embedded Tansu broker on a free
loopback port. Register these in a conftest with `from tests.support.kafka import *`.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from processor.kafka.embedded import EmbeddedBroker
from tests.support.kafka_proxy import FlakyKafka

__all__ = ["consume_records", "external_or_embedded", "flaky_kafka", "kafka_bootstrap", "kafka_topic",
           "restartable_kafka"]


def external_or_embedded(env_var: str, **embedded: Any) -> Iterator[str]:
    """For a fixture: the bootstrap servers in `env_var` when set, else an EmbeddedBroker(**embedded) run for as
    long as the fixture lives."""
    external = os.environ.get(env_var)
    if external:
        yield external
        return
    broker = EmbeddedBroker(**embedded)
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """`host:port` of a Kafka-protocol broker for the whole session."""
    yield from external_or_embedded("KAFKA_BOOTSTRAP_SERVERS")


@pytest.fixture
def kafka_topic(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Makes topic names unique to this test: `kafka_topic("spans")` -> `t.<test>.spans.<random>`."""
    test = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]

    def make(name: str) -> str:
        return f"t.{test}.{name}.{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def restartable_kafka() -> Iterator[EmbeddedBroker]:
    """A broker of this test's own, started; `.stop()` and `.start()` again keep its port.

    The embedded broker keeps data in memory: a restart empties it (topics included).
    """
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("outage tests stop and restart the broker; they need the embedded one, "
                    "not KAFKA_BOOTSTRAP_SERVERS")
    broker = EmbeddedBroker()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def flaky_kafka() -> Iterator[FlakyKafka]:
    """A broker of this test's own behind a proxy: `.stop()` cuts the network, `.start()` restores it.

    The broker keeps its data meanwhile, as a real cluster does across an outage (the embedded broker
    loses everything on a real restart, and then acknowledges records for topics it no longer has).
    """
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("outage tests need the embedded broker, not KAFKA_BOOTSTRAP_SERVERS")
    flaky = FlakyKafka().open()
    try:
        yield flaky
    finally:
        flaky.close()


async def consume_records(bootstrap: str, topic: str, count: int, *, timeout: float = 20.0,
                          settle: float = 0.5) -> list[ConsumerRecord]:
    """Read `topic` from the beginning until `count` records arrived or `timeout` passed; then keep
    reading for `settle` seconds so that extra records (duplicates, stray splits) show up too."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, request_timeout_ms=10000)
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        clock = asyncio.get_running_loop().time
        deadline = clock() + timeout
        while len(records) < count and clock() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            records += [r for batch in batches.values() for r in batch]
        settle_until = clock() + settle
        while clock() < settle_until:
            batches = await consumer.getmany(timeout_ms=100)
            records += [r for batch in batches.values() for r in batch]
    finally:
        await consumer.stop()
    return records
