"""Rebalances: the state a member holds for revoked partitions is flushed before another member gets them."""

from __future__ import annotations

import asyncio
import json

import pytest

from processor.component import Factory, Kind
from processor.config.models import ComponentConfig
from processor.config.types import ComponentID
from processor.config.validate import validate
from processor.receivers.kafka import KafkaReceiver, KafkaReceiverConfig
from processor.service import registry
from processor.service.host import Host
from processor.service.service import Service
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer, create_settings
from tests.receivers.kafka.helpers import loadgen_traces, make_topic, produce, wait_until

pytestmark = pytest.mark.kafka
FAST_GROUP = {"session_timeout": "6s", "heartbeat_interval": "500ms"}


async def test_revocation_waits_for_the_flush_before_the_next_member_is_assigned(kafka_bootstrap, kafka_topic):
    topic = await make_topic(kafka_bootstrap, kafka_topic("raw"), partitions=4)
    config = KafkaReceiverConfig.model_validate({"brokers": [kafka_bootstrap], "topic": topic, "group_id": topic,
                                                 **FAST_GROUP})
    second = KafkaReceiver(create_settings("kafka/b", Kind.RECEIVER), config, SinkConsumer())
    seen: list[tuple[str, object, set]] = []

    async def flush_first(receiver_id) -> None:
        seen.append(("flush started", receiver_id, set(second.consumer.assignment()) if second.consumer else set()))
        await asyncio.sleep(1.0)  # the group must wait for this
        seen.append(("flush done", receiver_id, set(second.consumer.assignment())))

    first = KafkaReceiver(create_settings("kafka/a", Kind.RECEIVER), config, SinkConsumer())
    await first.start(Host(SelfTelemetry(), flush_pipelines=flush_first))
    try:
        await wait_until(lambda: len(first.consumer.assignment()) == 4, what="the first member to own 4 partitions")
        await second.start(Host(SelfTelemetry()))
        await wait_until(lambda: len(second.consumer.assignment()) == 2, what="the second member's partitions")
        assert seen[:2] == [("flush started", ComponentID.parse("kafka/a"), set()),
                            ("flush done", ComponentID.parse("kafka/a"), set())]
        await wait_until(lambda: len(first.consumer.assignment()) == 2, what="the first member to keep 2")
    finally:
        await second.shutdown()
        await first.shutdown()


class HoldConfig(ComponentConfig):
    pass


class Hold:
    """Keeps every batch until flushed or shut down, as a stateful stream processor keeps traces."""

    mutates_data = False

    def __init__(self, next_consumer) -> None:
        self.next = next_consumer
        self.held = []

    async def start(self, host) -> None:
        return None

    async def consume(self, batch) -> None:
        self.held.append(batch)

    async def flush(self) -> None:
        held, self.held = self.held, []
        for batch in held:
            await self.next.consume(batch)

    async def shutdown(self) -> None:
        await self.flush()


@pytest.fixture
def hold_processor(monkeypatch):
    factory = Factory("hold", Kind.PROCESSOR, HoldConfig, lambda settings, config, nxt: Hold(nxt))
    monkeypatch.setitem(registry.factories()[Kind.PROCESSOR], "hold", factory)


def holding_service(bootstrap: str, topic: str, path) -> Service:
    return Service(validate({
        "receivers": {"kafka": {"brokers": [bootstrap], "topic": topic, "group_id": topic, **FAST_GROUP}},
        "processors": {"hold/first": {}, "hold/second": {}},
        "exporters": {"file": {"path": str(path), "kind": "spans"}},
        "service": {"telemetry": {"metrics": {"level": "none"}},
                    "pipelines": {"traces": {"receivers": ["kafka"], "processors": ["hold/first", "hold/second"],
                                             "exporters": ["file"]}}}}))


def spans_in(path) -> set[str]:
    if not path.exists():
        return set()
    return {span["spanId"] for line in path.read_text().splitlines() for rs in json.loads(line)["resourceSpans"]
            for ss in rs["scopeSpans"] for span in ss["spans"]}


async def test_a_joining_member_makes_the_owner_flush_its_pipelines_first_to_last(kafka_bootstrap, kafka_topic,
                                                                                 hold_processor, tmp_path):
    topic = await make_topic(kafka_bootstrap, kafka_topic("raw"), partitions=4)
    traces = loadgen_traces(12, seed=21)
    expected = {s.span_id.hex() for _, r in traces for rs in r.resource_spans for ss in rs.scope_spans
                for s in ss.spans}
    first = holding_service(kafka_bootstrap, topic, tmp_path / "first.jsonl")
    second = holding_service(kafka_bootstrap, topic, tmp_path / "second.jsonl")
    await first.start()
    try:
        holds = [n.component for n in first.graph.processors[0]]
        await produce(kafka_bootstrap, topic, [(t.hex().encode(), r.SerializeToString(), []) for t, r in traces])
        await wait_until(lambda: sum(b.item_count() for b in holds[0].held) == len(expected), what="all held")
        assert spans_in(tmp_path / "first.jsonl") == set()
        await second.start()  # joins the group: the first member's partitions are revoked
        # Flushed through hold/first, then hold/second, into the file: nothing is left held anywhere.
        await wait_until(lambda: spans_in(tmp_path / "first.jsonl") == expected, what="the revocation flush")
        assert holds[0].held == [] and holds[1].held == []
    finally:
        await second.shutdown()
        await first.shutdown()
    assert spans_in(tmp_path / "second.jsonl") == set()  # everything was committed before it joined
