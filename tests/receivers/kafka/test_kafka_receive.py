"""The kafka receiver against a real broker: what it reads, and when it commits."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.component import Kind
from processor.errors import PermanentError
from processor.exporters.kafka import KafkaExporter, KafkaExporterConfig
from processor.kafka import headers as h
from processor.model import otlp_json
from processor.model.batch import Batch, Signal
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import FailingConsumer, SinkConsumer, create_settings
from tests.receivers.kafka.helpers import (
    FailsThenTakes,
    committed,
    loadgen_traces,
    make_topic,
    produce,
    wait_committed,
    wait_until,
)

pytestmark = pytest.mark.kafka


def span_keys(requests) -> set[tuple[bytes, bytes]]:
    return {(s.trace_id, s.span_id) for r in requests for rs in r.resource_spans for ss in rs.scope_spans
            for s in ss.spans}


def one_request(traces) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _, part in traces:
        request.MergeFrom(part)
    return request


@pytest.mark.parametrize("encoding", ["otlp_proto", "otlp_json"])
async def test_reads_what_the_kafka_exporter_wrote(kafka_bootstrap, kafka_topic, start_receiver, encoding):
    topic = await make_topic(kafka_bootstrap, kafka_topic("raw"), partitions=2)
    sent = one_request(loadgen_traces(6, seed=3))
    config = KafkaExporterConfig.model_validate({"brokers": [kafka_bootstrap], "encoding": {"spans": encoding},
                                                 "topics": {"spans": topic, "streams": None, "anomalies": None}})
    exporter = KafkaExporter(create_settings("kafka", Kind.EXPORTER), config)
    await exporter.start(Host(SelfTelemetry()))
    try:
        await exporter.consume(Batch(Signal.TRACES, sent))
    finally:
        await exporter.shutdown()

    sink = SinkConsumer()
    telemetry = SelfTelemetry()
    # The configured encoding is the other one: the content-type header must decide.
    other = "otlp_json" if encoding == "otlp_proto" else "otlp_proto"
    await start_receiver(topic, sink, telemetry=telemetry, encoding=other)
    total = span_keys([sent])
    await sink.wait_for_items(len(total), timeout=30)
    assert span_keys(b.request for b in sink.batches) == total
    assert len(sink.spans()) == len(total)
    accepted = telemetry.registry.get_sample_value("tokenstream_receiver_accepted_spans_total",
                                                   {"receiver": "kafka", "transport": "kafka"})
    assert accepted == len(total)


@pytest.mark.parametrize("encoding", ["otlp_proto", "otlp_json"])
async def test_reads_collector_style_records_without_headers(kafka_bootstrap, kafka_topic, start_receiver, encoding):
    """The Collector's Kafka exporter writes no content-type header and, by default, no key."""
    topic = await make_topic(kafka_bootstrap, kafka_topic("otlp_spans"))
    traces = loadgen_traces(3, seed=5)
    encode = otlp_json.encode if encoding == "otlp_json" else ExportTraceServiceRequest.SerializeToString
    await produce(kafka_bootstrap, topic, [(None, encode(request), []) for _, request in traces])
    sink = SinkConsumer()
    await start_receiver(topic, sink, encoding=encoding)
    expected = span_keys(r for _, r in traces)
    await sink.wait_for_items(len(expected), timeout=30)
    assert span_keys(b.request for b in sink.batches) == expected


async def test_undecodable_records_are_skipped_counted_and_committed_past(kafka_bootstrap, kafka_topic,
                                                                          start_receiver):
    topic = await make_topic(kafka_bootstrap, kafka_topic("raw"))
    (_, good), = loadgen_traces(1)
    proto = [(h.CONTENT_TYPE, h.PROTOBUF.encode())]
    await produce(kafka_bootstrap, topic, [
        (None, b"\xff\xff\xff not protobuf", proto),
        (None, b'{"resourceSpans": 7}', [(h.CONTENT_TYPE, h.JSON.encode())]),
        (None, good.SerializeToString(), [(h.CONTENT_TYPE, b"text/plain")]),
        (None, good.SerializeToString(), [(h.SCHEMA, h.STREAM_SCHEMA.encode())]),
        (None, good.SerializeToString(), proto),
    ])
    sink = SinkConsumer()
    telemetry = SelfTelemetry()
    receiver = await start_receiver(topic, sink, telemetry=telemetry)
    await sink.wait_for_items(len(span_keys([good])), timeout=30)
    await wait_until(lambda: telemetry.registry.get_sample_value(
        "tokenstream_receiver_undecodable_records_total", {"receiver": "kafka"}) == 4, what="4 undecodable")
    assert span_keys(b.request for b in sink.batches) == span_keys([good])
    await wait_committed(receiver, topic, {0: 5})


async def test_offsets_are_committed_only_after_downstream_took_the_records(kafka_bootstrap, kafka_topic,
                                                                            start_receiver):
    topic = await make_topic(kafka_bootstrap, kafka_topic("raw"))
    traces = loadgen_traces(4, seed=11)
    await produce(kafka_bootstrap, topic, [(t.hex().encode(), r.SerializeToString(), []) for t, r in traces])
    expected = span_keys(r for _, r in traces)

    # A downstream that never takes them: the receiver retries, and commits nothing.
    failing = FailingConsumer(RuntimeError("exporter down"))
    first = await start_receiver(topic, failing, group_id="g-ack", backoff={"initial_interval": "50ms"})
    await wait_until(lambda: failing.calls >= 3, what="three attempts")
    assert await committed(first, topic) == {0: None}
    await first.shutdown()

    # The next member of the group gets the same records again; this downstream fails twice, then takes them.
    flaky = FailsThenTakes(failures=2)
    second = await start_receiver(topic, flaky, group_id="g-ack")
    await flaky.wait_for_items(len(expected), timeout=30)
    assert span_keys(b.request for b in flaky.batches) == expected
    assert flaky.attempts >= 3
    await wait_committed(second, topic, {0: len(traces)})
    # Each attempt got a fresh batch: the sink kept each span exactly once.
    assert len(flaky.spans()) == len(expected)


async def test_permanently_refused_batches_are_counted_and_skipped(kafka_bootstrap, kafka_topic, start_receiver):
    topic = await make_topic(kafka_bootstrap, kafka_topic("raw"))
    traces = loadgen_traces(2, seed=13)
    await produce(kafka_bootstrap, topic, [(None, r.SerializeToString(), []) for _, r in traces])
    refusing = FailingConsumer(PermanentError("bad data"))
    telemetry = SelfTelemetry()
    receiver = await start_receiver(topic, refusing, telemetry=telemetry)
    labels = {"receiver": "kafka", "transport": "kafka"}
    await wait_until(lambda: telemetry.registry.get_sample_value("tokenstream_receiver_refused_spans_total", labels)
                     == len(span_keys(r for _, r in traces)), what="refused spans counted")
    await wait_committed(receiver, topic, {0: 2})
    assert refusing.calls <= 2  # never retried: each poll was tried once
