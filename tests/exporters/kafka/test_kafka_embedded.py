"""The embedded broker: started when no brokers are configured, shared, stopped by its last user."""

from __future__ import annotations

import os

import pytest
from aiokafka import AIOKafkaProducer

from processor.kafka import embedded
from processor.kafka.embedded import EmbeddedBroker, kafka_ready
from tests.exporters.kafka.conftest import make_batch, make_request
from tests.support.kafka import consume_records

pytestmark = pytest.mark.kafka


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it is gone once reaped, which stop() does.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] == "Z"


def test_broker_restarts_on_the_same_port_and_stops():
    broker = EmbeddedBroker()
    try:
        broker.start()
        first_pid, port = broker.process.pid, broker.port
        assert kafka_ready(broker.host, broker.port)
        broker.stop()
        assert _gone(first_pid)
        assert not kafka_ready(broker.host, port, timeout=0.5)
        broker.start()
        assert broker.port == port and kafka_ready(broker.host, port)
    finally:
        broker.stop()


@pytest.mark.parametrize("brokers", [None, [], [""], ["embedded"]])
async def test_exporter_without_brokers_starts_and_stops_the_embedded_one(harness, kafka_topic, caplog, brokers):
    config = {"topics": {"spans": kafka_topic("spans"), "streams": None, "anomalies": None}}
    if brokers is not None:
        config["brokers"] = brokers
    with caplog.at_level("WARNING"):
        exporter = await harness.start(config)
    broker = embedded.shared_broker()
    assert broker is not None and broker.running
    assert any("not production" in r.getMessage() for r in caplog.records)
    await exporter.consume(make_batch(make_request(traces=2, spans_per_trace=1)))
    assert len(await consume_records(broker.bootstrap, config["topics"]["spans"], 2)) == 2
    pid = broker.process.pid
    await harness.stop(exporter)
    assert embedded.shared_broker() is None
    assert _gone(pid)


async def test_two_exporters_share_one_embedded_broker(harness, kafka_topic):
    topics = {"spans": kafka_topic("spans"), "streams": None, "anomalies": None}
    first = await harness.start({"topics": topics}, id_="kafka/a")
    second = await harness.start({"topics": topics}, id_="kafka/b")
    assert first.bootstrap == second.bootstrap
    broker = embedded.shared_broker()
    await harness.stop(first)
    assert broker.running  # still used by the second
    producer = AIOKafkaProducer(bootstrap_servers=second.bootstrap, enable_idempotence=False)
    await producer.start()
    await producer.stop()
    await harness.stop(second)
    assert not broker.running
