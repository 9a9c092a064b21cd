"""OTLP/gRPC: real SDK exporters in, the sink sees exactly what was sent; every error status a client relies on."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from processor.errors import PermanentError, RetryableError
from processor.model.batch import Signal
from processor.service.telemetry import SelfTelemetry
from processor.testing import FailingConsumer
from tests.receivers.otlp.otlp_helpers import (
    assert_same_log_records,
    assert_same_spans,
    attributes_of,
    good_span,
    grpc_export,
    grpc_status_of,
    in_thread,
    received_log_records,
    sdk_log_records,
    sdk_spans,
    sink_routes,
    trace_request,
)

GRPC_ONLY = {"grpc": {"endpoint": "127.0.0.1:0"}}


def counter(telemetry: SelfTelemetry, name: str, transport: str = "grpc") -> float:
    return telemetry.registry.get_sample_value(f"tokenstream_{name}_total",
                                               {"receiver": "otlp", "transport": transport}) or 0.0


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip])
async def test_sdk_span_exporter_delivers_spans_unchanged(start_receiver, sink, compression):
    telemetry = SelfTelemetry()
    receiver = await start_receiver(GRPC_ONLY, sink_routes(sink), telemetry)
    spans = sdk_spans()
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True, timeout=10,
                                compression=compression)
    try:
        assert await in_thread(exporter.export, spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert_same_spans(spans, sink.spans())
    resource = sink.batches[0].request.resource_spans[0]
    assert attributes_of(resource.resource.attributes)["service.name"] == "llm-gateway"
    assert resource.scope_spans[0].scope.name == "tests.otlp"
    assert counter(telemetry, "receiver_accepted_spans") == len(spans)


async def test_sdk_log_exporter_delivers_log_records_unchanged(start_receiver, sink):
    telemetry = SelfTelemetry()
    receiver = await start_receiver(GRPC_ONLY, sink_routes(sink), telemetry)
    records = sdk_log_records()
    exporter = OTLPLogExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True, timeout=10)
    try:
        assert await in_thread(exporter.export, records) is LogRecordExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert_same_log_records(records, received_log_records(sink))
    assert counter(telemetry, "receiver_accepted_log_records") == 2


async def test_metrics_are_routed_and_counted(start_receiver, sink):
    telemetry = SelfTelemetry()
    receiver = await start_receiver(GRPC_ONLY, sink_routes(sink), telemetry)
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="llm.requests")
    for value in (1, 2, 3):
        metric.sum.data_points.add(as_int=value, time_unix_nano=1_700_000_000_000_000_000)
    await grpc_export(receiver.grpc_port, request, signal=Signal.METRICS)
    assert sink.batches[0].signal is Signal.METRICS and sink.batches[0].request == request
    assert counter(telemetry, "receiver_accepted_metric_points") == 3


async def test_retryable_downstream_answers_unavailable_with_retry_info(start_receiver, sink):
    telemetry = SelfTelemetry()
    failing = FailingConsumer(RetryableError("queue full", retry_after=2.5))
    receiver = await start_receiver(GRPC_ONLY, {Signal.TRACES: failing}, telemetry)
    code, status = await grpc_status_of(receiver.grpc_port, trace_request(good_span(1), good_span(2)))
    assert code is grpc.StatusCode.UNAVAILABLE and "queue full" in status.message
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry)
    assert (retry.retry_delay.seconds, retry.retry_delay.nanos) == (2, 500_000_000)
    assert counter(telemetry, "receiver_refused_spans") == 2 and failing.calls == 1


@pytest.mark.parametrize(("error", "code"), [
    (PermanentError("bad data"), grpc.StatusCode.INVALID_ARGUMENT),
    (RuntimeError("boom"), grpc.StatusCode.UNAVAILABLE),  # an unexpected error may pass on a retry
])
async def test_downstream_errors_map_to_status_codes(start_receiver, error, code):
    receiver = await start_receiver(GRPC_ONLY, {Signal.TRACES: FailingConsumer(error)})
    got, status = await grpc_status_of(receiver.grpc_port, trace_request(good_span()))
    assert got is code and str(error) in status.message


async def test_signal_without_pipeline_is_unimplemented_and_others_still_work(start_receiver, sink):
    receiver = await start_receiver(GRPC_ONLY, sink_routes(sink, Signal.TRACES))
    code, status = await grpc_status_of(receiver.grpc_port, ExportLogsServiceRequest(), signal=Signal.LOGS)
    assert code is grpc.StatusCode.UNIMPLEMENTED and "logs" in status.message
    await grpc_export(receiver.grpc_port, trace_request(good_span()))
    assert sink.item_count == 1


async def test_message_over_max_size_is_resource_exhausted_then_small_one_passes(start_receiver, sink):
    receiver = await start_receiver({"grpc": {"endpoint": "127.0.0.1:0", "max_recv_msg_size": "1KiB"}},
                                    sink_routes(sink))
    big = trace_request(*(good_span(n) for n in range(1, 40)), name="x" * 64)
    assert big.ByteSize() > 1024
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await grpc_export(receiver.grpc_port, big)
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    await grpc_export(receiver.grpc_port, trace_request(good_span()))
    assert sink.item_count == 1


async def test_invalid_ids_are_dropped_and_reported_as_partial_success(start_receiver, sink):
    telemetry = SelfTelemetry()
    receiver = await start_receiver(GRPC_ONLY, sink_routes(sink), telemetry)
    request = trace_request(good_span(1), (b"\x01" * 15, b"\x02" * 8), (b"\x03" * 16, bytes(8)), good_span(4))
    response = await grpc_export(receiver.grpc_port, request)
    assert response.partial_success.rejected_spans == 2
    assert "trace_id must be 16 bytes" in response.partial_success.error_message
    assert [span.span_id for span in sink.spans()] == [good_span(1)[1], good_span(4)[1]]
    assert (counter(telemetry, "receiver_accepted_spans"), counter(telemetry, "receiver_refused_spans")) == (2, 2)


async def test_log_records_with_bad_ids_are_partial_success(start_receiver, sink):
    receiver = await start_receiver(GRPC_ONLY, sink_routes(sink))
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    scope.log_records.add(span_id=b"\x01\x02\x03")  # neither empty nor 8 bytes
    scope.log_records.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    scope.log_records.add()  # no ids at all is fine for a log record
    response = await grpc_export(receiver.grpc_port, request, signal=Signal.LOGS)
    assert response.partial_success.rejected_log_records == 1
    assert len(received_log_records(sink)) == 2


async def test_empty_request_succeeds_without_reaching_the_pipeline(start_receiver, sink):
    receiver = await start_receiver(GRPC_ONLY, sink_routes(sink))
    response = await grpc_export(receiver.grpc_port, trace_request())
    assert not response.HasField("partial_success") and sink.batches == []
