"""Connections, not requests: idle ones are closed, and each transport accepts at most `max_connections`."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from processor.receivers.otlp.config import OtlpReceiverConfig
from processor.service.telemetry import SelfTelemetry
from tests.receivers.otlp.otlp_helpers import in_thread, sdk_spans, sink_routes
from tests.support.abusive_clients import IdleSockets, wait_until

IDLE_1S = {"grpc": {"endpoint": "127.0.0.1:0", "keepalive": {"server_parameters": {"max_connection_idle": "1s"}}},
           "http": {"endpoint": "127.0.0.1:0", "idle_timeout": "1s"}}


def _export(exporter) -> SpanExportResult:
    try:
        return exporter.export(sdk_spans())
    finally:
        exporter.shutdown()


async def test_connections_that_never_send_anything_are_closed_after_the_idle_timeout(start_receiver, sink):
    receiver = await start_receiver(IDLE_1S, sink_routes(sink))
    with IdleSockets(receiver.http_port, 5) as http, IdleSockets(receiver.grpc_port, 5) as grpc_:
        assert await wait_until(lambda: http.ended() == 5 and grpc_.ended() == 5, timeout=30), \
            (http.ended(), grpc_.ended())


def test_the_idle_timeouts_default_to_a_minute_as_in_the_collector_http_server():
    protocols = OtlpReceiverConfig.model_validate({}).protocols
    assert protocols.http.idle_timeout == protocols.grpc.keepalive.server_parameters.max_connection_idle == 60.0


async def test_connections_past_max_connections_are_closed_at_once_and_counted(start_receiver, sink):
    """The cap bounds the file descriptors clients can hold; once connections are gone, clients get in again."""
    telemetry = SelfTelemetry()
    protocols = {"grpc": {"endpoint": "127.0.0.1:0", "max_connections": 4},
                 "http": {"endpoint": "127.0.0.1:0", "max_connections": 4}}
    receiver = await start_receiver(protocols, sink_routes(sink), telemetry)
    with IdleSockets(receiver.http_port, 4) as http, IdleSockets(receiver.grpc_port, 4) as grpc_:
        with IdleSockets(receiver.http_port, 2) as late_http, IdleSockets(receiver.grpc_port, 2) as late_grpc:
            assert await wait_until(lambda: late_http.ended() == late_grpc.ended() == 2, timeout=20), \
                (late_http.ended(), late_grpc.ended())
        assert http.ended() == grpc_.ended() == 0  # the first four wait for their idle timeout (a minute)
    refused = telemetry.registry.get_sample_value("tokenstream_receiver_refused_connections_total",
                                                  {"receiver": "otlp", "transport": "http"})
    assert refused == 2
    grpc_exporter = GrpcSpanExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True, timeout=10)
    http_exporter = HttpSpanExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces", timeout=10)
    assert await in_thread(_export, grpc_exporter) is SpanExportResult.SUCCESS
    assert await in_thread(_export, http_exporter) is SpanExportResult.SUCCESS
