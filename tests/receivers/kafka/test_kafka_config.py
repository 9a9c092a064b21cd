"""The kafka receiver's config, decoding one record, and merging one poll's records, without a broker."""

from __future__ import annotations

import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench import payloads
from processor import wire
from processor.config.validate import Problems, validate
from processor.kafka import headers as h
from processor.model import otlp_json
from processor.model.batch import Signal, count_items
from processor.receivers.kafka import KafkaReceiverConfig
from processor.receivers.kafka.decode import UndecodableRecord, read
from processor.receivers.kafka.polled import PolledBatch
from tests.receivers.kafka.helpers import loadgen_traces


def test_defaults():
    config = KafkaReceiverConfig()
    assert (config.topic, config.group_id, config.encoding, config.initial_offset) == \
        ("llm.spans.raw", "tokenstream", "otlp_proto", "earliest")
    assert config.uses_embedded()


def test_config_problems_are_reported_with_their_path():
    with pytest.raises(Problems) as caught:
        validate({"receivers": {"kafka": {"brokers": "nohost", "encoding": "avro", "heartbeat_interval": "20s",
                                          "autocommit": True}},
                  "exporters": {"debug": {}},
                  "service": {"pipelines": {"traces": {"receivers": ["kafka"], "exporters": ["debug"]}}}})
    text = "\n".join(caught.value.errors)
    for expected in ("receivers::kafka::brokers", "receivers::kafka::encoding", "receivers::kafka::autocommit",
                     "receivers::kafka::heartbeat_interval"):
        assert expected in text, text


def test_a_kafka_receiver_feeds_traces_pipelines_only():
    with pytest.raises(Problems) as caught:
        validate({"receivers": {"kafka": {}}, "exporters": {"debug": {}},
                  "service": {"pipelines": {"logs": {"receivers": ["kafka"], "exporters": ["debug"]}}}})
    assert "kafka" in "\n".join(caught.value.errors)


REQUEST = loadgen_traces(1)[0][1]


@pytest.mark.parametrize(("value", "headers", "default"), [
    (REQUEST.SerializeToString(), [(h.CONTENT_TYPE, h.PROTOBUF.encode())], "otlp_json"),
    (otlp_json.encode(REQUEST), [(h.CONTENT_TYPE, b"application/json; charset=utf-8")], "otlp_proto"),
    (REQUEST.SerializeToString(), [], "otlp_proto"),
    (otlp_json.encode(REQUEST), [(h.SCHEMA, h.SPANS_SCHEMA.encode())], "otlp_json"),
], ids=["proto-by-header", "json-by-header", "proto-by-default", "json-by-default"])
def test_decodes_by_content_type_else_by_the_configured_encoding(value, headers, default):
    index = read(value, headers, default)
    assert ExportTraceServiceRequest.FromString(index.buf) == REQUEST
    assert len(index) == count_items(Signal.TRACES, REQUEST)


@pytest.mark.parametrize(("value", "headers", "reason"), [
    (None, [], "tombstone"),
    (b"\xff\xff\xff", [], "not an OTLP protobuf"),
    (b"[1]", [(h.CONTENT_TYPE, h.JSON.encode())], "JSON object"),
    (REQUEST.SerializeToString(), [(h.CONTENT_TYPE, b"text/plain")], "content-type"),
    (REQUEST.SerializeToString(), [(h.SCHEMA, h.ANOMALY_SCHEMA.encode())], "schema"),
])
def test_refuses_what_is_not_a_trace_request(value, headers, reason):
    with pytest.raises(UndecodableRecord, match=reason):
        read(value, headers, "otlp_proto")


def test_json_ids_are_hex_as_the_collector_writes_them():
    request = ExportTraceServiceRequest.FromString(read(otlp_json.encode(REQUEST), [], "otlp_json").buf)
    assert request.resource_spans[0].scope_spans[0].spans[0].trace_id == \
        REQUEST.resource_spans[0].scope_spans[0].spans[0].trace_id


def _records(topic: str, partition: int, values: list[tuple[bytes | None, list]]) -> list[ConsumerRecord]:
    return [ConsumerRecord(topic, partition, offset, 0, 0, None, value, None, 0, len(value or b""), headers)
            for offset, (value, headers) in enumerate(values)]


def test_one_poll_is_one_request_merged_in_record_order_and_fresh_for_each_attempt():
    traces = [request for _, request in loadgen_traces(4, seed=11)]
    json = [(h.CONTENT_TYPE, h.JSON.encode())]
    truncated = traces[0].SerializeToString()[:-3]
    records = {TopicPartition("raw", 0): _records("raw", 0, [(traces[0].SerializeToString(), []),
                                                             (otlp_json.encode(traces[1]), json),
                                                             (truncated, []),
                                                             (None, [])]),
               TopicPartition("raw", 1): _records("raw", 1, [(traces[2].SerializeToString(), []),
                                                             (traces[3].SerializeToString(), [])])}
    skipped = []
    polled = PolledBatch(records, 3, "otlp_proto", skipped.extend)

    assert [(record.partition, record.offset) for record, _ in skipped] == [(0, 2), (0, 3)]
    assert "not an OTLP protobuf" in str(skipped[0][1]) and "tombstone" in str(skipped[1][1])
    assert polled.offsets == {TopicPartition("raw", 0): 4, TopicPartition("raw", 1): 2}
    assert (polled.record_count, polled.span_count) == (4, sum(count_items(Signal.TRACES, t) for t in traces))
    expected = ExportTraceServiceRequest()
    for request in traces:
        expected.resource_spans.extend(request.resource_spans)
    first, retry = polled.batch(), polled.batch()
    assert first.request == expected and retry.request == expected
    first.request.resource_spans[0].scope_spans[0].spans[0].name = "changed by a processor"
    assert retry.request == expected and polled.batch().request == expected


def test_a_poll_of_undecodable_records_only_has_no_spans():
    polled = PolledBatch({TopicPartition("raw", 0): _records("raw", 0, [(b"\xff\xff\xff", [])])}, 1, "otlp_proto",
                         lambda bad: None)
    assert (polled.record_count, polled.span_count) == (0, 0)
    assert polled.batch().request == ExportTraceServiceRequest()


@pytest.mark.skipif(wire.IMPLEMENTATION != "native", reason="the pure-Python path decodes a poll (no index)")
def test_a_poll_is_scanned_once_with_the_pipelines_claims():
    """Each record scanned with the ClaimsSet; the joined index answers each member as a scan of the joined bytes."""
    from processor.processors.stream.reading import CLAIMS

    feedback = wire.Claims(event_names=("user.feedback",))
    bodies = payloads.build("mixed", variants=3)
    polled = PolledBatch({TopicPartition("raw", 0): _records("raw", 0, [(body, []) for body in bodies])}, 1,
                         "otlp_proto", lambda bad: None, wire.ClaimsSet((CLAIMS, feedback)))
    batch = polled.batch()
    scanned = batch.index(CLAIMS)
    assert scanned.claimed_rows and not batch.may_hold(feedback)
    assert list(scanned.claimed_rows) == list(wire.scan_traces(b"".join(bodies), CLAIMS).claimed_rows)
    assert scanned.claims_set is not None  # the poll's one index answers: CLAIMS was not scanned for
