"""The kafka receiver's config, and decoding one record, without a broker."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.config.validate import Problems, validate
from processor.kafka import headers as h
from processor.model import otlp_json
from processor.receivers.kafka import KafkaReceiverConfig
from processor.receivers.kafka.decode import UndecodableRecord, decode
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
    assert decode(value, headers, default) == REQUEST


@pytest.mark.parametrize(("value", "headers", "reason"), [
    (None, [], "tombstone"),
    (b"\xff\xff\xff", [], "not an OTLP protobuf"),
    (b"[1]", [(h.CONTENT_TYPE, h.JSON.encode())], "JSON object"),
    (REQUEST.SerializeToString(), [(h.CONTENT_TYPE, b"text/plain")], "content-type"),
    (REQUEST.SerializeToString(), [(h.SCHEMA, h.ANOMALY_SCHEMA.encode())], "schema"),
])
def test_refuses_what_is_not_a_trace_request(value, headers, reason):
    with pytest.raises(UndecodableRecord, match=reason):
        decode(value, headers, "otlp_proto")


def test_json_ids_are_hex_as_the_collector_writes_them():
    request = decode(otlp_json.encode(REQUEST), [], "otlp_json")
    assert isinstance(request, ExportTraceServiceRequest)
    assert request.resource_spans[0].scope_spans[0].spans[0].trace_id == \
        REQUEST.resource_spans[0].scope_spans[0].spans[0].trace_id
