"""A span too large for a Kafka record: refused to its caller before anything is acknowledged, kept in the
dead-letter file, counted; the rest of the batch is delivered. Against a real broker."""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.errors import RejectedSpans
from processor.model import otlp_json
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord, to_json_dict
from tests.exporters.kafka.conftest import all_spans, make_batch, make_request, span_keys
from tests.support.kafka import consume_records

pytestmark = pytest.mark.kafka

LIMIT = 64 * 1024


def _with_one_big_span(seed: int = 3) -> tuple[ExportTraceServiceRequest, tuple[bytes, bytes]]:
    """Three traces of small spans, and one span of ~100 KiB (over LIMIT) among them."""
    request = make_request(traces=3, spans_per_trace=2, resources=1, scopes=1, seed=seed)
    big = all_spans(request)[2]
    big.attributes.add(key="gen_ai.completion").value.string_value = "x" * (100 * 1024)
    return request, (big.trace_id, big.span_id)


def _spans_config(bootstrap: str, topic: str, **extra) -> dict:
    return {"brokers": [bootstrap], "max_message_bytes": LIMIT,
            "topics": {"spans": topic, "streams": None, "anomalies": None, "trace_costs": None}, **extra}


def _dead_letters(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def _delivered(bootstrap: str, topic: str, count: int) -> set[tuple[bytes, bytes]]:
    records = await consume_records(bootstrap, topic, count, settle=1.0)
    return {key for record in records for key in span_keys(ExportTraceServiceRequest.FromString(record.value))}


async def test_with_the_persistent_queue_a_span_too_large_is_refused_before_it_is_acknowledged(
        harness, kafka_bootstrap, kafka_topic, tmp_path):
    """Before: consume returned (acknowledged, on disk), then the producer refused the record and it was released
    from the queue with an ERROR line: acknowledged, never delivered."""
    topic = kafka_topic("spans")
    exporter = await harness.start(_spans_config(kafka_bootstrap, topic,
                                                 sending_queue={"storage": {"directory": str(tmp_path / "q")}}))
    request, big = _with_one_big_span()
    with pytest.raises(RejectedSpans) as refused:
        await asyncio.wait_for(exporter.consume(Batch(Signal.TRACES, request)), 30)
    assert refused.value.spans == {big}
    assert "max_message_bytes" in str(refused.value) and "broker" not in str(refused.value)

    others = span_keys(request) - {big}
    assert await _delivered(kafka_bootstrap, topic, 3) == others
    (line,) = _dead_letters(tmp_path / "q" / "kafka" / "dead-letter.jsonl")  # with a queue, beside it by default
    assert (line["kind"], line["items"], line["topic"], line["key"]) == ("spans", 1, topic, big[0].hex())
    kept = otlp_json.decode(Signal.TRACES, json.dumps(line["value"]))  # OTLP JSON, as the file exporter writes
    assert span_keys(kept) == {big}
    assert harness.value("tokenstream_exporter_dead_letter_records_total", exporter="kafka", kind="spans") == 1
    assert harness.value("tokenstream_exporter_send_failed_records_total", exporter="kafka", kind="spans") == 1
    assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="spans") == len(others)


async def test_without_a_dead_letter_file_the_caller_is_told_which_span_and_why(harness, kafka_bootstrap,
                                                                                kafka_topic, caplog):
    """Before: the whole batch failed with "the broker refused records" (it was aiokafka's own size check)."""
    topic = kafka_topic("spans")
    exporter = await harness.start(_spans_config(kafka_bootstrap, topic))
    request, big = _with_one_big_span(seed=4)
    with pytest.raises(RejectedSpans) as refused:
        await asyncio.wait_for(exporter.consume(Batch(Signal.TRACES, request)), 30)
    assert refused.value.spans == {big}
    assert f"max_message_bytes = {LIMIT} bytes" in str(refused.value)
    assert await _delivered(kafka_bootstrap, topic, 3) == span_keys(request) - {big}
    assert "set dead_letter.path to keep them" in caplog.text
    assert harness.value("tokenstream_exporter_send_failed_records_total", exporter="kafka", kind="spans") == 1


async def test_a_stream_record_too_large_is_kept_and_the_spans_go_on(harness, kafka_bootstrap, kafka_topic,
                                                                     tmp_path):
    topics = {"spans": kafka_topic("spans"), "streams": kafka_topic("streams"), "anomalies": None,
              "trace_costs": None}
    path = tmp_path / "dead" / "letters.jsonl"
    exporter = await harness.start({"brokers": [kafka_bootstrap], "max_message_bytes": LIMIT, "topics": topics,
                                    "encoding": {"records": "proto"}, "dead_letter": {"path": str(path)}})
    batch = make_batch(make_request(traces=2, spans_per_trace=1, seed=5))
    huge = StreamRecord(trace_id=batch.streams[0].trace_id, span_id=batch.streams[0].span_id,
                        route="/" + "r" * (LIMIT + 10))
    batch.streams[0] = huge
    await asyncio.wait_for(exporter.consume(batch), 30)  # its spans were delivered: nothing to refuse them for

    assert len(await consume_records(kafka_bootstrap, topics["spans"], 2)) == 2
    assert len(await consume_records(kafka_bootstrap, topics["streams"], 1)) == 1
    (line,) = _dead_letters(path)
    assert line["kind"] == "streams" and line["value"] == to_json_dict(huge)
    assert harness.value("tokenstream_exporter_dead_letter_records_total", exporter="kafka", kind="streams") == 1


async def test_a_full_dead_letter_file_keeps_nothing_more_and_says_so(harness, kafka_bootstrap, kafka_topic,
                                                                      tmp_path, caplog):
    topic = kafka_topic("spans")
    path = tmp_path / "dead.jsonl"
    exporter = await harness.start(_spans_config(kafka_bootstrap, topic,
                                                 dead_letter={"path": str(path), "max_size": "200KiB"}))
    for seed in (6, 7, 8):  # over 100 KiB a line: the first fits, the second would not
        request, big = _with_one_big_span(seed=seed)
        with pytest.raises(RejectedSpans):
            await asyncio.wait_for(exporter.consume(Batch(Signal.TRACES, request)), 30)
    assert len(_dead_letters(path)) == 1 and path.stat().st_size <= 200 * 1024
    assert "the others lost: it is over its max_size" in caplog.text
    assert harness.value("tokenstream_exporter_dead_letter_records_total", exporter="kafka", kind="spans") == 1
    assert harness.value("tokenstream_exporter_send_failed_records_total", exporter="kafka", kind="spans") == 3


def _broker_refuses(exporter, marker: bytes) -> None:
    """Has the broker's answer to records holding `marker` be RecordTooLargeError, as a Kafka whose message.max.bytes
    is below max_message_bytes answers. (The embedded Tansu has no size limit and no error worth refusing for good,
    so that answer is played by the delivery callback; everything else is the real path.)"""
    from aiokafka.errors import RecordTooLargeError

    sender = exporter.sender
    acknowledged = sender.acknowledged

    def answer(records):
        for record in records:
            if marker in record.value:
                sender.failed(record, RecordTooLargeError("the broker's message.max.bytes is smaller"))
        acknowledged([record for record in records if marker not in record.value])

    sender.acknowledged = answer


async def test_a_record_the_broker_refuses_after_it_is_on_disk_goes_to_the_dead_letter_file(
        harness, kafka_bootstrap, kafka_topic, tmp_path, caplog):
    """With the persistent queue the caller was answered once the record was on disk: a refusal that comes later
    cannot reach it, so the record is kept, and only then leaves the queue."""
    topic = kafka_topic("spans")
    exporter = await harness.start(_spans_config(kafka_bootstrap, topic,
                                                 sending_queue={"storage": {"directory": str(tmp_path / "q")}}))
    request = make_request(traces=2, spans_per_trace=1, resources=1, scopes=1, seed=9)
    all_spans(request)[0].name = "refuse-me"
    _broker_refuses(exporter, b"refuse-me")
    await asyncio.wait_for(exporter.consume(Batch(Signal.TRACES, request)), 30)  # on disk: acknowledged
    assert await exporter.sending.queue.wait_empty(10)
    (line,) = _dead_letters(tmp_path / "q" / "kafka" / "dead-letter.jsonl")
    assert "the broker refused it (RecordTooLargeError" in line["reason"]
    assert span_keys(otlp_json.decode(Signal.TRACES, json.dumps(line["value"]))) == {
        (all_spans(request)[0].trace_id, all_spans(request)[0].span_id)}
    assert "kept in the dead-letter file" in caplog.text
    await harness.stop(exporter)
    assert not list((tmp_path / "q" / "kafka").glob("*.seg"))  # nothing left to send again


async def test_without_the_queue_a_record_the_broker_refuses_is_refused_to_the_caller(harness, kafka_bootstrap,
                                                                                      kafka_topic):
    topic = kafka_topic("spans")
    exporter = await harness.start(_spans_config(kafka_bootstrap, topic))
    _broker_refuses(exporter, b"refuse-me")
    request = make_request(traces=2, spans_per_trace=1, resources=1, scopes=1, seed=10)
    refused_span = all_spans(request)[1]
    refused_span.name = "refuse-me"
    with pytest.raises(RejectedSpans) as refused:
        await asyncio.wait_for(exporter.consume(Batch(Signal.TRACES, request)), 30)
    assert refused.value.spans == {(refused_span.trace_id, refused_span.span_id)}
    assert "the broker refused it (RecordTooLargeError" in str(refused.value)
