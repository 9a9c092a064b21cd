"""Per-trace requests encoded from each span's bytes are byte for byte what building them as messages gives."""

from __future__ import annotations

import random

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.exporters.kafka.decoded_by_trace import encode_by_trace, varint
from processor.exporters.kafka.split import by_trace
from tests.exporters.kafka.conftest import make_request


def _reference(request: ExportTraceServiceRequest) -> dict[bytes, bytes]:
    return {trace_id: part.SerializeToString() for trace_id, part in by_trace(request).items()}


def test_wire_encoding_equals_building_each_trace_as_a_message():
    for seed in range(5):
        request = make_request(traces=6, spans_per_trace=3, resources=2, scopes=3, payload_bytes=64, seed=seed)
        encoded = encode_by_trace(request)
        assert list(encoded) == list(_reference(request))  # same traces, same order (first appearance)
        for trace_id, expected in _reference(request).items():
            data, count = encoded[trace_id]
            assert data == expected
            assert count == sum(len(ss.spans) for rs in ExportTraceServiceRequest.FromString(data).resource_spans
                                for ss in rs.scope_spans)


def test_resources_and_scopes_without_fields_and_schema_urls_survive():
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add(schema_url="https://opentelemetry.io/schemas/1.26.0")
    ss = rs.scope_spans.add()  # no scope set, no schema url
    for index in range(3):
        ss.spans.add(trace_id=bytes([index % 2]) * 16, span_id=bytes([index]) * 8, name="x" * 200)
    rs2 = request.resource_spans.add()
    rs2.resource.SetInParent()  # present but empty
    rs2.scope_spans.add(schema_url="s").spans.add(trace_id=b"\x01" * 16, span_id=b"\x09" * 8)
    encoded = encode_by_trace(request)
    assert {k: v for k, (v, _) in encoded.items()} == _reference(request)
    assert encoded[b"\x01" * 16][1] == 2


def test_a_request_of_one_trace_is_sent_as_it_came():
    request = make_request(traces=1, spans_per_trace=4)
    ((data, count),) = encode_by_trace(request).values()
    assert (data, count) == (request.SerializeToString(), 4)


def test_varint_matches_protobuf_for_lengths_of_every_size():
    rng = random.Random(3)
    for value in [0, 1, 127, 128, 300, 16383, 16384, 2**21, 2**28 + 5] + [rng.randrange(2**32) for _ in range(200)]:
        encoded = varint(value)
        decoded, shift = 0, 0
        for byte in encoded:
            decoded |= (byte & 0x7F) << shift
            shift += 7
        assert decoded == value
        assert all(b & 0x80 for b in encoded[:-1]) and not encoded[-1] & 0x80
