"""The processing tier as a consumer group, with the real stream processors: two members make the same stream
records as one, retries split across requests included; a member that stops hands over without losing any."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.model.batch import Signal, count_items
from tests.receivers.kafka.helpers import make_topic, produce, wait_until
from tests.receivers.kafka.scaleout import canonical, messages, processing_service, receiver_of, stream_records

pytestmark = pytest.mark.kafka


def accepted(service) -> float:
    return service.telemetry.registry.get_sample_value("tokenstream_receiver_accepted_spans_total",
                                                       {"receiver": "kafka", "transport": "kafka"}) or 0.0


async def run_until_records(services, paths, count: int, timeout: float = 60.0) -> None:
    try:
        await wait_until(lambda: len(stream_records(*paths)) >= count, timeout, f"{count} stream records")
    finally:
        for service in services:
            await service.shutdown()


async def test_two_members_make_the_same_stream_records_as_one(kafka_bootstrap, kafka_topic, tmp_path):
    topic = await make_topic(kafka_bootstrap, kafka_topic("raw"), partitions=4)
    sent, llm_spans, retries = messages(40, seed=31)
    assert retries >= 10
    await produce(kafka_bootstrap, topic, sent)

    solo = processing_service(kafka_bootstrap, topic, "solo", tmp_path / "solo.jsonl")
    await solo.start()
    await run_until_records([solo], [tmp_path / "solo.jsonl"], len(llm_spans))
    alone = stream_records(tmp_path / "solo.jsonl")

    pair = [processing_service(kafka_bootstrap, topic, "pair", tmp_path / f"pair-{i}.jsonl") for i in range(2)]
    paths = [tmp_path / "pair-0.jsonl", tmp_path / "pair-1.jsonl"]
    await asyncio.gather(*(service.start() for service in pair))
    await run_until_records(pair, paths, len(llm_spans))
    together = stream_records(*paths)

    assert {r["span_id"] for r in alone} == llm_spans and len(alone) == len(llm_spans)
    assert len(together) == len(alone)
    assert canonical(together) == canonical(alone)
    # Both members took part, and the retry of every retried call was recognised across requests.
    assert all(stream_records(path) for path in paths)
    retried = [r for r in together if r.get("retried_after_partial")]
    assert len(retried) == retries and all(r.get("attempt") == 1 for r in retried)


async def test_a_member_that_stops_mid_run_hands_its_partitions_over_and_no_record_is_lost(
        kafka_bootstrap, kafka_topic, tmp_path):
    topic = await make_topic(kafka_bootstrap, kafka_topic("raw"), partitions=4)
    sent, llm_spans, _ = messages(60, seed=41)
    total_spans = sum(count_items(Signal.TRACES, ExportTraceServiceRequest.FromString(value)) for _, value, _ in sent)
    paths = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    # A long wait: when `a` stops, it still holds the state of every trace it read.
    a, b = (processing_service(kafka_bootstrap, topic, "handover", path, wait="30s") for path in paths)
    await asyncio.gather(a.start(), b.start())
    try:
        await wait_until(lambda: len(receiver_of(a).consumer.assignment()) == 2, what="a's share of the partitions")
        third = len(sent) // 3
        await produce(kafka_bootstrap, topic, sent[:third])
        await wait_until(lambda: accepted(a) > 0, what="a to take some spans")
        stopping = asyncio.create_task(a.shutdown())
        await produce(kafka_bootstrap, topic, sent[third:2 * third])
        assert await asyncio.wait_for(stopping, 30)
        await wait_until(lambda: len(receiver_of(b).consumer.assignment()) == 4, what="b to own all partitions")
        await produce(kafka_bootstrap, topic, sent[2 * third:])
        assert stream_records(paths[0]), "a flushed the records of what it read when it stopped"
        await wait_until(lambda: accepted(a) + accepted(b) >= total_spans, 30, "every span to be taken")
        await b.shutdown()  # flushes the rest
    finally:
        await a.shutdown()
        await b.shutdown()
    records = stream_records(*paths)
    assert {r["span_id"] for r in records} == llm_spans
