"""OTLP/JSON: hex ids, enums, int64 forms, both key styles, unknown fields; and encode as the file exporter writes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.model import otlp_json
from processor.model.batch import Signal

TRACE_HEX, SPAN_HEX, PARENT_HEX = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "eee19b7ec3c1b173"

# The example from the OTLP specification's JSON section, with a link and an event added.
SPEC_TRACES = {"resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
    "scopeSpans": [{"scope": {"name": "my.library", "version": "1.0.0"}, "spans": [{
        "traceId": TRACE_HEX, "spanId": SPAN_HEX, "parentSpanId": PARENT_HEX, "name": "I'm a server span",
        "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": "1544712661000000000", "kind": 2,
        "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}},
                       {"key": "blob", "value": {"bytesValue": "AAEC"}}],
        "events": [{"timeUnixNano": "1544712660500000000", "name": "chunk"}],
        "links": [{"traceId": TRACE_HEX, "spanId": PARENT_HEX}],
        "status": {"code": 1}}]}]}]}


def _span(request: ExportTraceServiceRequest):
    return request.resource_spans[0].scope_spans[0].spans[0]


def test_spec_example_decodes_with_hex_ids():
    request = otlp_json.decode(Signal.TRACES, json.dumps(SPEC_TRACES).encode())
    span = _span(request)
    assert (span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex()) == (TRACE_HEX, SPAN_HEX, PARENT_HEX)
    assert (span.links[0].trace_id.hex(), span.links[0].span_id.hex()) == (TRACE_HEX, PARENT_HEX)
    assert (span.kind, span.start_time_unix_nano, span.status.code) == (2, 1544712660000000000, 1)
    assert span.attributes[1].value.bytes_value == b"\x00\x01\x02"  # bytesValue stays base64, as the spec says
    assert span.events[0].time_unix_nano == 1544712660500000000


def test_snake_case_enum_names_numbers_uppercase_hex_and_unknown_fields_are_accepted():
    body = {"resource_spans": [{"scope_spans": [{"spans": [{
        "trace_id": TRACE_HEX.upper(), "span_id": SPAN_HEX, "parent_span_id": "", "name": "I'm a server span",
        "start_time_unix_nano": 1544712660000000000, "endTimeUnixNano": "1544712661000000000",
        "kind": "SPAN_KIND_SERVER", "status": {"code": "STATUS_CODE_OK"}, "addedInOtlp2": {"x": [1, 2]}}]}]}],
        "someFutureTopLevelField": True}
    span = _span(otlp_json.decode("traces", json.dumps(body)))
    expected = _span(otlp_json.decode("traces", json.dumps(SPEC_TRACES)))
    assert (span.trace_id, span.span_id, span.parent_span_id) == (expected.trace_id, expected.span_id, b"")
    assert (span.kind, span.status.code, span.end_time_unix_nano) == (2, 1, expected.end_time_unix_nano)


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "not valid JSON"),
    (b"[]", "JSON object"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}', 'traceId "xyz" is not hex'),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "abc"}]}]}]}', "spanId"),  # odd length
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}', "ExportTraceServiceRequest"),
    (b"\xff\xfe", "not valid JSON"),
    # found by the full-size fuzz run: Python's json reads Infinity, and an enum of Infinity overflowed
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": Infinity}]}]}]}', "Infinity is not a JSON value"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": NaN}]}]}]}', "NaN is not a JSON value"),
])
def test_malformed_bodies_raise_a_clear_error(body, message):
    with pytest.raises(otlp_json.OtlpJsonError, match=message):
        otlp_json.decode(Signal.TRACES, body)


def test_encode_writes_hex_ids_camel_case_integer_enums_and_string_int64():
    request = otlp_json.decode(Signal.TRACES, json.dumps(SPEC_TRACES))
    written = json.loads(otlp_json.encode(request))
    span = written["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert (span["traceId"], span["spanId"], span["parentSpanId"]) == (TRACE_HEX, SPAN_HEX, PARENT_HEX)
    assert span["links"][0] == {"traceId": TRACE_HEX, "spanId": PARENT_HEX}
    assert (span["kind"], span["status"], span["startTimeUnixNano"]) == (2, {"code": 1}, "1544712660000000000")
    assert written == SPEC_TRACES


def test_logs_and_metric_exemplars_round_trip():
    logs = ExportLogsServiceRequest()
    record = logs.resource_logs.add().scope_logs.add().log_records.add(
        time_unix_nano=1, severity_number=9, trace_id=bytes.fromhex(TRACE_HEX), span_id=bytes.fromhex(SPAN_HEX))
    record.body.string_value = "hello"
    encoded = otlp_json.encode(logs)
    assert f'"traceId":"{TRACE_HEX}"' in encoded.decode() and '"severityNumber":9' in encoded.decode()
    assert otlp_json.decode(Signal.LOGS, encoded) == logs

    metrics = ExportMetricsServiceRequest()
    metric = metrics.resource_metrics.add().scope_metrics.add().metrics.add(name="ttft")
    point = metric.histogram.data_points.add(count=2, bucket_counts=[1, 1], explicit_bounds=[0.5])
    point.exemplars.add(as_double=0.3, trace_id=bytes.fromhex(TRACE_HEX), span_id=bytes.fromhex(SPAN_HEX))
    encoded = otlp_json.encode(metrics)
    assert f'"spanId":"{SPAN_HEX}"' in encoded.decode()
    assert otlp_json.decode(Signal.METRICS, encoded) == metrics


@given(trace_id=st.binary(min_size=16, max_size=16), span_id=st.binary(min_size=8, max_size=8),
       name=st.text(max_size=20), start=st.integers(min_value=0, max_value=2**64 - 1))
def test_any_span_round_trips(trace_id, span_id, name, start):
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(trace_id=trace_id, span_id=span_id, name=name,
                                                             start_time_unix_nano=start)
    assert otlp_json.decode(Signal.TRACES, otlp_json.encode(request)) == request
