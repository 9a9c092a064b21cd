"""OTLP/HTTP: SDK exporters, protobuf and JSON, gzip, and every error row of the OTLP/HTTP spec."""

from __future__ import annotations

import gzip
import json

import aiohttp
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from processor.errors import PermanentError, RetryableError
from processor.model import otlp_json
from processor.model.batch import Signal
from processor.service.telemetry import SelfTelemetry
from processor.testing import FailingConsumer
from tests.receivers.otlp.otlp_helpers import (
    assert_same_log_records,
    assert_same_spans,
    good_span,
    in_thread,
    post,
    received_log_records,
    sdk_log_records,
    sdk_spans,
    sink_routes,
    trace_request,
)

HTTP_ONLY = {"http": {"endpoint": "127.0.0.1:0", "max_request_size": "64KiB"}}
PROTOBUF, JSON = "application/x-protobuf", "application/json"


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
async def test_sdk_span_exporter_delivers_spans_unchanged(start_receiver, sink, compression):
    telemetry = SelfTelemetry()
    receiver = await start_receiver(HTTP_ONLY, sink_routes(sink), telemetry)
    spans = sdk_spans()
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces", timeout=10,
                                compression=compression)
    try:
        assert await in_thread(exporter.export, spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert_same_spans(spans, sink.spans())
    assert telemetry.registry.get_sample_value("tokenstream_receiver_accepted_spans_total",
                                               {"receiver": "otlp", "transport": "http"}) == len(spans)


async def test_sdk_log_exporter_delivers_log_records_unchanged(start_receiver, sink):
    receiver = await start_receiver(HTTP_ONLY, sink_routes(sink))
    records = sdk_log_records()
    exporter = OTLPLogExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/logs", timeout=10)
    try:
        assert await in_thread(exporter.export, records) is LogRecordExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert_same_log_records(records, received_log_records(sink))


def _json_body(trace_hex: str, span_hex: str) -> bytes:
    """OTLP/JSON as a client writes it by hand: hex ids, enum names, int64 as strings and numbers, extra keys."""
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "gw"}}]}, "scopeSpans": [{"scope": {"name": "s"}, "spans": [
            {"traceId": trace_hex, "spanId": span_hex, "name": "op", "kind": "SPAN_KIND_CLIENT",
             "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": 1700000001000000000,
             "attributes": [{"key": "n", "value": {"intValue": "3"}}], "futureField": {"x": 1},
             "events": [{"timeUnixNano": "1700000000500000000", "name": "chunk"}]}]}]}]}).encode()


async def test_json_with_hex_ids_and_gzipped_protobuf_decode_identically(start_receiver, sink):
    receiver = await start_receiver(HTTP_ONLY, sink_routes(sink))
    trace_id, span_id = bytes(range(1, 17)), bytes(range(1, 9))
    status, headers, body = await post(receiver.http_port, "/v1/traces", _json_body(trace_id.hex(), span_id.hex()),
                                       content_type=JSON)
    assert status == 200 and headers["Content-Type"].startswith(JSON) and json.loads(body) == {}
    from_json = sink.batches[0].request
    assert from_json.resource_spans[0].scope_spans[0].spans[0].trace_id == trace_id
    status, headers, body = await post(receiver.http_port, "/v1/traces", gzip.compress(from_json.SerializeToString()),
                                       headers={"Content-Encoding": "gzip"})
    assert status == 200 and headers["Content-Type"] == PROTOBUF
    assert ExportTraceServiceResponse.FromString(body) == ExportTraceServiceResponse()
    assert sink.batches[1].request == from_json
    span = from_json.resource_spans[0].scope_spans[0].spans[0]
    assert (span.kind, span.end_time_unix_nano, span.events[0].name) == (3, 1_700_000_001_000_000_000, "chunk")


def _status(body: bytes, content_type: str) -> status_pb2.Status:
    if content_type == JSON:
        return otlp_json.parse(body, status_pb2.Status())
    return status_pb2.Status.FromString(body)


BOMB = gzip.compress(b"\0" * (8 << 20))  # 8 MiB of zeros in about 8 KiB: far over the 64 KiB limit once inflated
GOOD = trace_request(good_span()).SerializeToString()


@pytest.mark.parametrize(("path", "body", "content_type", "headers", "expected"), [
    ("/v1/traces", GOOD, "text/plain", {}, 415),
    ("/v1/traces", b"\xff\xff\xff\xff", PROTOBUF, {}, 400),
    ("/v1/traces", b'{"resourceSpans": [', JSON, {}, 400),
    ("/v1/traces", _json_body("not-hex", "0102030405060708"), JSON, {}, 400),
    ("/v1/traces", b"\0" * (65 << 10), PROTOBUF, {}, 413),
    ("/v1/traces", BOMB, PROTOBUF, {"Content-Encoding": "gzip"}, 413),
    ("/v1/traces", b"not gzip at all", PROTOBUF, {"Content-Encoding": "gzip"}, 400),
    ("/v1/traces", GOOD, PROTOBUF, {"Content-Encoding": "snappy"}, 400),
    ("/v1/nothing", GOOD, PROTOBUF, {}, 404),
])
async def test_error_rows_answer_their_status_and_the_next_good_request_succeeds(
        start_receiver, sink, path, body, content_type, headers, expected):
    receiver = await start_receiver(HTTP_ONLY, sink_routes(sink))
    status, response_headers, response_body = await post(receiver.http_port, path, body, content_type=content_type,
                                                         headers=headers)
    assert status == expected
    if expected == 400:
        assert response_headers["Content-Type"].startswith(content_type)
        assert _status(response_body, content_type).code == 3  # INVALID_ARGUMENT
    assert sink.batches == []
    status, _, _ = await post(receiver.http_port, "/v1/traces", GOOD)
    assert status == 200 and sink.item_count == 1


async def test_invalid_hex_names_the_field(start_receiver, sink):
    receiver = await start_receiver(HTTP_ONLY, sink_routes(sink))
    _, _, body = await post(receiver.http_port, "/v1/traces", _json_body("zz" * 16, "01" * 8), content_type=JSON)
    assert "traceId" in _status(body, JSON).message and "hex" in _status(body, JSON).message


async def test_get_is_method_not_allowed(start_receiver, sink):
    receiver = await start_receiver(HTTP_ONLY, sink_routes(sink))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
            session.get(f"http://127.0.0.1:{receiver.http_port}/v1/traces") as response:
        assert response.status == 405 and "POST" in response.headers["Allow"]


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
async def test_retryable_downstream_answers_503_with_retry_after(start_receiver, content_type):
    failing = FailingConsumer(RetryableError("full", retry_after=2.5))
    receiver = await start_receiver(HTTP_ONLY, {Signal.TRACES: failing})
    body = GOOD if content_type == PROTOBUF else _json_body("01" * 16, "02" * 8)
    status, headers, response_body = await post(receiver.http_port, "/v1/traces", body, content_type=content_type)
    assert status == 503 and headers["Retry-After"] == "3"
    detail = error_details_pb2.RetryInfo()
    assert _status(response_body, content_type).details[0].Unpack(detail) and detail.retry_delay.seconds == 2


async def test_permanent_downstream_error_is_400(start_receiver):
    receiver = await start_receiver(HTTP_ONLY, {Signal.TRACES: FailingConsumer(PermanentError("no"))})
    status, headers, _ = await post(receiver.http_port, "/v1/traces", GOOD)
    assert status == 400 and "Retry-After" not in headers


async def test_signal_without_pipeline_is_404(start_receiver, sink):
    receiver = await start_receiver(HTTP_ONLY, sink_routes(sink, Signal.TRACES))
    status, _, body = await post(receiver.http_port, "/v1/metrics", b"", content_type=JSON)
    assert status == 404 and "metrics" in _status(body, JSON).message


async def test_partial_success_in_json(start_receiver, sink):
    receiver = await start_receiver(HTTP_ONLY, sink_routes(sink))
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "01" * 16, "spanId": "02" * 8, "name": "ok"},
        {"traceId": "01" * 16, "spanId": "02" * 7, "name": "short span id"}]}]}]}).encode()
    status, _, response = await post(receiver.http_port, "/v1/traces", body, content_type=JSON)
    assert status == 200
    partial = json.loads(response)["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "span_id" in partial["errorMessage"]
    assert [span.name for span in sink.spans()] == ["ok"]
