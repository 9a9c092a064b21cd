"""The sender's batches, against a real broker: each record on the partition any Kafka client would choose for its
key, and settled only once the broker acknowledged the batch that holds it."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.partitioner import murmur2

from processor.model.batch import Batch, Signal
from tests.exporters.kafka.conftest import make_request
from tests.support.kafka import consume_records

pytestmark = pytest.mark.kafka


def _spans_only(bootstrap: str, topic: str, **extra) -> dict:
    return {"brokers": [bootstrap], "topics": {"spans": topic, "streams": None, "anomalies": None,
                                               "trace_costs": None}, **extra}


def _kafka_partition(key: bytes, partitions: int) -> int:
    """The Java client's and aiokafka's default partitioner (aiokafka's own murmur2, not the exporter's)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


async def test_each_record_lands_on_the_partition_its_key_names_across_many_full_batches(harness, kafka_bootstrap,
                                                                                          kafka_topic):
    topic = kafka_topic("spans")
    # Batches of 4 KiB hold a few records of ~1.5 KiB: many fill up and a new one is started, across rounds.
    exporter = await harness.start(_spans_only(kafka_bootstrap, topic, create_topics={"partitions": 4},
                                               max_batch_size="4KiB", linger="1ms"))
    requests = [make_request(traces=30, spans_per_trace=1, resources=1, scopes=1, payload_bytes=1500, seed=s)
                for s in range(5)]
    await asyncio.wait_for(asyncio.gather(*(exporter.consume(Batch(Signal.TRACES, r)) for r in requests)), 60)
    trace_ids = {span.trace_id for r in requests for rs in r.resource_spans for ss in rs.scope_spans
                 for span in ss.spans}

    records = await consume_records(kafka_bootstrap, topic, len(trace_ids), settle=1.0)
    assert sorted(record.key for record in records) == sorted(t.hex().encode() for t in trace_ids)
    misplaced = [(r.key, r.partition) for r in records if r.partition != _kafka_partition(r.key, 4)]
    assert misplaced == []
    assert len({record.partition for record in records}) == 4  # the keys spread: a constant partition would fail
    assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="spans") == 150


async def test_no_record_is_settled_before_the_broker_acknowledges_it(harness, flaky_kafka, kafka_topic):
    topic = kafka_topic("spans")
    exporter = await harness.start(_spans_only(flaky_kafka.bootstrap, topic, request_timeout="60s"))
    await asyncio.wait_for(exporter.consume(Batch(Signal.TRACES, make_request(traces=2, spans_per_trace=1, seed=1))),
                           30)  # connected
    sent = harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="spans")

    flaky_kafka.hold()  # the exporter's requests reach the broker; its acknowledgements wait in the proxy
    try:
        # One call, one produce request: the next would wait for this one's answer.
        send = asyncio.create_task(exporter.consume(Batch(Signal.TRACES, make_request(traces=12, spans_per_trace=1,
                                                                                     seed=10))))
        stored = await consume_records(flaky_kafka.bootstrap, topic, 2 + 12)  # a new connection: not held
        assert len(stored) == 14  # the broker has every record (a record per trace)...
        assert not send.done(), "consume returned before the broker acknowledged"
        assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="spans") == sent
    finally:
        flaky_kafka.release()
    await asyncio.wait_for(send, 30)  # ...and once it answers, consume returns
    assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="spans") == sent + 12
    await harness.stop(exporter)  # before the proxy closes under it


async def test_records_waiting_for_a_held_partition_are_retried_and_each_delivered_and_counted_once(
        harness, flaky_kafka, kafka_topic):
    topic = kafka_topic("spans")
    # Small batches: while the broker holds its answers, the next batch for the partition waits for the one in
    # flight and gives up after request_timeout; the records not yet in a batch go back to the queue.
    exporter = await harness.start(_spans_only(flaky_kafka.bootstrap, topic, max_batch_size="4KiB", linger="1ms",
                                               request_timeout="1s", retry={"initial_interval": "100ms"}))
    await asyncio.wait_for(exporter.consume(Batch(Signal.TRACES, make_request(traces=2, spans_per_trace=1, seed=1))),
                           30)  # connected
    flaky_kafka.hold()
    try:
        request = make_request(traces=40, spans_per_trace=1, resources=1, scopes=1, payload_bytes=1500, seed=20)
        send = asyncio.create_task(exporter.consume(Batch(Signal.TRACES, request)))
        await asyncio.wait({send}, timeout=2.5)  # past request_timeout: batches gave up waiting
    finally:
        flaky_kafka.release()
    await asyncio.wait_for(send, 60)
    trace_ids = {span.trace_id.hex().encode() for rs in request.resource_spans for ss in rs.scope_spans
                 for span in ss.spans}
    records = await consume_records(flaky_kafka.bootstrap, topic, 2 + 40)
    assert trace_ids <= {record.key for record in records}  # at least once: a retried record may be there twice
    assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="spans") == 2 + 40
    await harness.stop(exporter)
