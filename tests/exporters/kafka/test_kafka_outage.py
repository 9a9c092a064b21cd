"""A broker outage, and a restart of the exporter with a persistent queue: nothing handed over is lost.

The outage test cuts the network to the broker (which keeps its data); the restart tests stop the
embedded broker itself before sending, since it keeps data in memory only.
"""

from __future__ import annotations

import asyncio

import pytest

from processor.model.records import StreamRecord
from tests.exporters.kafka.conftest import make_batch, make_request
from tests.support.kafka import consume_records

pytestmark = pytest.mark.kafka

FAST_RETRY = {"initial_interval": "100ms", "max_interval": "500ms", "max_elapsed_time": "120s"}


def _config(bootstrap: str, topic: str, **extra) -> dict:
    return {"brokers": [bootstrap], "topics": {"spans": None, "streams": topic, "anomalies": None},
            "request_timeout": "1s", "retry": FAST_RETRY, **extra}


def _span_ids(records) -> set[bytes]:
    return {StreamRecord.FromString(r.value).span_id for r in records}


async def test_outage_while_sending_loses_nothing_consume_returned_for(harness, flaky_kafka, kafka_topic):
    topic = kafka_topic("streams")
    exporter = await harness.start(_config(flaky_kafka.bootstrap, topic))
    before = make_batch(make_request(traces=5, spans_per_trace=2, seed=1))
    await asyncio.wait_for(exporter.consume(before), 30)  # connected and delivering

    flaky_kafka.stop()
    batches = [make_batch(make_request(traces=5, spans_per_trace=2, seed=10 + i)) for i in range(6)]
    sends = [asyncio.create_task(exporter.consume(b)) for b in batches]
    async with asyncio.timeout(30):  # failed attempts (request_timeout 1s) while the broker is away, then retries
        while not harness.value("tokenstream_exporter_redelivered_records_total", exporter="kafka", kind="streams"):
            await asyncio.sleep(0.1)
    assert not any(task.done() for task in sends), "consume returned before the broker acknowledged"

    flaky_kafka.start()
    await asyncio.wait_for(asyncio.gather(*sends), 60)
    expected = {r.span_id for b in batches for r in b.streams}
    records = await consume_records(flaky_kafka.bootstrap, topic, len(expected) + 10, settle=1.0)
    assert expected | {r.span_id for r in before.streams} <= _span_ids(records)
    assert harness.value("tokenstream_exporter_send_failed_records_total", exporter="kafka", kind="streams") == 0


async def test_consume_fails_retryably_after_the_retry_deadline(harness, restartable_kafka, kafka_topic):
    from processor.errors import RetryableError

    restartable_kafka.stop()
    exporter = await harness.start(_config(restartable_kafka.bootstrap, kafka_topic("streams"),
                                           retry={"initial_interval": "100ms", "max_elapsed_time": "1s"}))
    with pytest.raises(RetryableError):
        await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=2, spans_per_trace=1))), 30)
    assert harness.value("tokenstream_exporter_send_failed_records_total", exporter="kafka", kind="streams") == 2
    assert harness.value("tokenstream_queue_size", component="kafka") == 0


async def test_persistent_queue_survives_an_exporter_restart(harness, restartable_kafka, kafka_topic, tmp_path):
    topic = kafka_topic("streams")
    config = _config(restartable_kafka.bootstrap, topic, flush_timeout="500ms",
                     sending_queue={"queue_size": 1000, "storage": {"directory": str(tmp_path)}})
    restartable_kafka.stop()
    first = await harness.start(config)
    batches = [make_batch(make_request(traces=4, spans_per_trace=2, seed=20 + i)) for i in range(5)]
    for batch in batches:  # returns once on disk, though the broker is down
        await asyncio.wait_for(first.consume(batch), 10)
    assert harness.value("tokenstream_queue_size", component="kafka") == 40
    await harness.stop(first)  # the broker never came back: everything stays on disk
    assert list((tmp_path / "kafka").glob("*.seg"))

    restartable_kafka.start()
    second = await harness.start(config)  # a new instance on the same directory re-sends
    assert harness.value("tokenstream_exporter_redelivered_records_total", exporter="kafka", kind="streams") >= 40
    expected = {r.span_id for b in batches for r in b.streams}
    records = await consume_records(restartable_kafka.bootstrap, topic, len(expected), settle=1.0)
    assert _span_ids(records) == expected
    assert await second.sending.queue.wait_empty(10)
    await harness.stop(second)
    assert not list((tmp_path / "kafka").glob("*.seg"))  # acknowledged records are deleted from disk


async def test_persistent_queue_delivers_during_normal_operation(harness, kafka_bootstrap, kafka_topic, tmp_path):
    topic = kafka_topic("streams")
    exporter = await harness.start(_config(kafka_bootstrap, topic,
                                           sending_queue={"storage": {"directory": str(tmp_path)}}))
    batches = [make_batch(make_request(traces=3, spans_per_trace=1, seed=40 + i)) for i in range(4)]
    for batch in batches:
        await exporter.consume(batch)
    records = await consume_records(kafka_bootstrap, topic, 12)
    assert _span_ids(records) == {r.span_id for b in batches for r in b.streams}
    assert await exporter.sending.queue.wait_empty(10)
    assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="streams") == 12
