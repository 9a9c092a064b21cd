"""The kafka exporter against a real broker: three topics, both encodings, keys, headers, splitting, drops."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.kafka import headers as h
from processor.model import otlp_json
from processor.model.records import StreamAnomaly, StreamRecord, from_json_dict, to_json_dict
from tests.exporters.kafka.conftest import all_spans, make_batch, make_request, span_keys
from tests.support.kafka import consume_records

pytestmark = pytest.mark.kafka


def _decode_spans(record, encoding: str) -> ExportTraceServiceRequest:
    if encoding == "otlp_json":
        return otlp_json.decode("traces", record.value)
    return ExportTraceServiceRequest.FromString(record.value)


def _decode(record, cls, encoding: str):
    if encoding == "json":
        import json

        return from_json_dict(cls, json.loads(record.value))
    return cls.FromString(record.value)


@pytest.mark.parametrize(("spans_encoding", "records_encoding"), [("otlp_proto", "proto"), ("otlp_json", "json")])
async def test_three_topics_decode_to_the_input(harness, kafka_bootstrap, kafka_topic, spans_encoding,
                                                records_encoding):
    topics = {"spans": kafka_topic("spans"), "streams": kafka_topic("streams"), "anomalies": kafka_topic("anom")}
    exporter = await harness.start({"brokers": [kafka_bootstrap], "topics": topics,
                                    "encoding": {"spans": spans_encoding, "records": records_encoding}})
    request = make_request(traces=4, spans_per_trace=3)
    batch = make_batch(request)
    await asyncio.wait_for(exporter.consume(batch), 30)

    span_records = await consume_records(kafka_bootstrap, topics["spans"], 4)
    assert len(span_records) == 4  # one message per trace
    received = []
    for record in span_records:
        content_type = h.JSON if spans_encoding == "otlp_json" else h.PROTOBUF
        assert h.header(record.headers, h.CONTENT_TYPE) == content_type
        assert h.header(record.headers, h.SCHEMA) == h.SPANS_SCHEMA
        part = _decode_spans(record, spans_encoding)
        spans = all_spans(part)
        assert {s.trace_id.hex() for s in spans} == {record.key.decode()}
        for rs in part.resource_spans:  # each span kept its own resource and scope
            for ss in rs.scope_spans:
                for span in ss.spans:
                    received.append((rs.resource.attributes[0].value.string_value, ss.scope.name,
                                     span.SerializeToString(deterministic=True)))
    expected = [(rs.resource.attributes[0].value.string_value, ss.scope.name,
                 span.SerializeToString(deterministic=True))
                for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert sorted(received) == sorted(expected)

    content_type = h.JSON if records_encoding == "json" else h.PROTOBUF
    for kind, cls, schema, sent in (("streams", StreamRecord, h.STREAM_SCHEMA, batch.streams),
                                    ("anomalies", StreamAnomaly, h.ANOMALY_SCHEMA, batch.anomalies)):
        records = await consume_records(kafka_bootstrap, topics[kind], len(sent))
        assert len(records) == len(sent)
        decoded = []
        for record in records:
            assert h.header(record.headers, h.CONTENT_TYPE) == content_type
            assert h.header(record.headers, h.SCHEMA) == schema
            message = _decode(record, cls, records_encoding)
            assert record.key.decode() == message.trace_id.hex()
            decoded.append(to_json_dict(message))
        key = lambda d: d["span_id"]  # noqa: E731
        assert sorted(decoded, key=key) == sorted((to_json_dict(m) for m in sent), key=key)

    labels = {"exporter": "kafka"}
    assert harness.value("tokenstream_exporter_sent_records_total", **labels, kind="spans") == 12
    assert harness.value("tokenstream_exporter_sent_records_total", **labels, kind="streams") == 12
    assert harness.value("tokenstream_exporter_sent_records_total", **labels, kind="anomalies") == 12
    assert harness.value("tokenstream_queue_size", component="kafka") == 0


async def test_disabled_topic_gets_nothing(harness, kafka_bootstrap, kafka_topic):
    topics = {"spans": None, "streams": kafka_topic("streams"), "anomalies": None}
    exporter = await harness.start({"brokers": [kafka_bootstrap], "topics": topics})
    await exporter.consume(make_batch(make_request(traces=2, spans_per_trace=1)))
    assert len(await consume_records(kafka_bootstrap, topics["streams"], 2)) == 2
    assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="spans") == 0
    assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="anomalies") == 0


@pytest.mark.parametrize("spans_encoding", ["otlp_proto", "otlp_json"])
async def test_batch_over_max_message_bytes_arrives_split_and_complete(harness, kafka_bootstrap, kafka_topic,
                                                                       spans_encoding):
    topic = kafka_topic("spans")
    limit = 64 * 1024
    exporter = await harness.start({"brokers": [kafka_bootstrap], "max_message_bytes": limit,
                                    "topics": {"spans": topic, "streams": None, "anomalies": None},
                                    "encoding": {"spans": spans_encoding}})
    # One trace of 60 spans of ~4 KiB each: ~250 KiB in one trace, so splitting by trace is not enough.
    request = make_request(traces=1, spans_per_trace=60, resources=3, scopes=2, payload_bytes=4000)
    await asyncio.wait_for(exporter.consume(make_batch(request)), 30)

    records = await consume_records(kafka_bootstrap, topic, 5, settle=1.0)
    assert len(records) >= 5
    assert all(len(r.value) <= limit for r in records)
    received = [_decode_spans(r, spans_encoding) for r in records]
    seen = [key for part in received for key in span_keys(part)]
    assert len(seen) == len(set(seen)) == 60  # every span once
    assert set(seen) == span_keys(request)
    assert {r.key for r in records} == {all_spans(request)[0].trace_id.hex().encode()}


async def test_drop_newest_counts_what_it_drops(harness, kafka_bootstrap, kafka_topic, restartable_kafka):
    topic = kafka_topic("streams")
    restartable_kafka.stop()  # nothing is acknowledged, so the queue stays full
    exporter = await harness.start({
        "brokers": [restartable_kafka.bootstrap], "topics": {"spans": None, "streams": topic, "anomalies": None},
        "sending_queue": {"queue_size": 4, "when_full": "drop_newest"}, "request_timeout": "1s",
        "retry": {"initial_interval": "100ms", "max_elapsed_time": "60s"}})
    first = asyncio.create_task(exporter.consume(make_batch(make_request(traces=4, spans_per_trace=1))))
    async with asyncio.timeout(10):  # its records are queued (however long a loaded machine takes to get there)
        while harness.value("tokenstream_queue_size", component="kafka") < 4:
            await asyncio.sleep(0.02)
    assert not first.done()
    assert harness.value("tokenstream_queue_size", component="kafka") == 4
    for _ in range(3):  # the queue is full: these return at once, dropped
        await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=2, spans_per_trace=1))), 5)
    assert harness.value("tokenstream_exporter_dropped_records_total", exporter="kafka", kind="streams") == 6

    restartable_kafka.start()
    await asyncio.wait_for(first, 30)
    records = await consume_records(restartable_kafka.bootstrap, topic, 4, settle=1.0)
    assert len({r.value for r in records}) == 4
    assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="streams") == 4


async def test_json_records_equal_the_file_exporters_lines(harness, kafka_bootstrap, kafka_topic, tmp_path):
    from processor.component import Kind
    from processor.exporters.file import factory as file_factory
    from processor.service.host import Host
    from processor.testing import create_settings

    topics = {"spans": None, "streams": kafka_topic("streams"), "anomalies": kafka_topic("anom")}
    exporter = await harness.start({"brokers": [kafka_bootstrap], "topics": topics, "encoding": {"records": "json"}})
    batch = make_batch(make_request(traces=3, spans_per_trace=2))
    for kind in ("streams", "anomalies"):
        path = tmp_path / f"{kind}.jsonl"
        settings = create_settings(f"file/{kind}", Kind.EXPORTER, telemetry=harness.telemetry)
        file_exporter = file_factory.create(settings, file_factory.config_model(path=str(path), kind=kind), None)
        await file_exporter.start(Host(harness.telemetry))
        await file_exporter.consume(batch)
        await file_exporter.shutdown()
    await exporter.consume(batch)
    for kind in ("streams", "anomalies"):
        lines = (tmp_path / f"{kind}.jsonl").read_bytes().splitlines()
        records = await consume_records(kafka_bootstrap, topics[kind], len(lines))
        assert sorted(r.value for r in records) == sorted(lines)
