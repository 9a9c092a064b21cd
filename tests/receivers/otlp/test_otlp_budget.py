"""A request's budget, asked of its body's bytes before it is decoded (memory_limiter's reservation) and of its items
right after (max_request_items): one huge request is refused alone, RESOURCE_EXHAUSTED/413 naming the limit."""

from __future__ import annotations

import grpc
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.component import Kind
from processor.model.batch import Signal
from processor.processors.memory_limiter import factory as memory_limiter
from processor.processors.memory_limiter.config import MemoryLimiterConfig
from processor.processors.memory_limiter.usage import resident_bytes
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings
from tests.receivers.otlp.otlp_helpers import good_span, grpc_export, grpc_status_of, post, trace_request
from tests.support.abusive_clients import StalledHttpBodies, wait_until

MIB = 1 << 20


def chunky(spans: int, events: int) -> ExportTraceServiceRequest:
    """LLM-like spans, each with `events` chunk events: valid, and large for their count of spans."""
    request = trace_request(*(good_span(n % 250 + 1) for n in range(spans)))
    for span in request.resource_spans[0].scope_spans[0].spans:
        for index in range(events):
            span.events.add(name="gen_ai.content.completion.chunk", time_unix_nano=1_700_000_000_000_000_000 + index)
    return request


async def _limiter(sink, telemetry: SelfTelemetry):
    """A real memory_limiter far from its limits, whose budget for one request is 10 MiB decoded."""
    config = MemoryLimiterConfig(limit_mib=resident_bytes() // MIB + 400, spike_limit_mib=10)
    limiter = memory_limiter.create(create_settings("memory_limiter", Kind.PROCESSOR, telemetry=telemetry), config,
                                    sink)
    await limiter.start(Host(telemetry))
    return limiter


async def test_a_request_too_large_to_decode_is_refused_unread_by_memory_limiter_and_the_next_is_taken(
        start_receiver, sink):
    telemetry = SelfTelemetry()
    limiter = await _limiter(sink, telemetry)
    try:
        receiver = await start_receiver(routes={Signal.TRACES: limiter}, telemetry=telemetry)
        huge = chunky(500, 100)  # 50,000 events, 2 MB: about 13 MiB once decoded
        code, status = await grpc_status_of(receiver.grpc_port, huge)
        assert code is grpc.StatusCode.RESOURCE_EXHAUSTED, status
        assert "memory_limiter" in status.message and "spike_limit_mib" in status.message, status.message
        assert not status.details, "a retry delay would tell the SDK to send the same request again"
        http_status, _, body = await post(receiver.http_port, "/v1/traces", huge.SerializeToString())
        assert http_status == 413
        assert "memory_limiter" in status_pb2.Status.FromString(body).message
        assert sink.item_count == 0
        assert limiter.monitor.reserved == 0
        await grpc_export(receiver.grpc_port, chunky(50, 100))  # 5,000 events: taken
        assert (await post(receiver.http_port, "/v1/traces", chunky(50, 100).SerializeToString()))[0] == 200
        assert sink.item_count == 100
        refused = [telemetry.registry.get_sample_value("tokenstream_receiver_refused_requests_total",
                                                       {"receiver": "otlp", "transport": t}) for t in ("grpc", "http")]
        assert refused == [1, 1]
    finally:
        await limiter.shutdown()


async def test_a_request_with_more_items_than_max_request_items_is_refused_on_both_transports(start_receiver, sink):
    receiver = await start_receiver(routes={Signal.TRACES: sink}, max_request_items=10)
    over = chunky(6, 1)  # 6 spans + 6 events
    code, status = await grpc_status_of(receiver.grpc_port, over)
    assert code is grpc.StatusCode.RESOURCE_EXHAUSTED and "max_request_items (10)" in status.message, status
    http_status, _, body = await post(receiver.http_port, "/v1/traces", over.SerializeToString())
    assert http_status == 413 and "12 spans and span events" in status_pb2.Status.FromString(body).message
    assert sink.item_count == 0
    await grpc_export(receiver.grpc_port, chunky(5, 1))  # exactly 10
    assert sink.item_count == 5


async def test_an_http_body_announced_too_large_for_memory_limiter_is_refused_before_it_is_sent(start_receiver, sink):
    """Its Content-Length says 20 MB (under max_request_size) and no byte of it comes: 413 at once, not 408 later."""
    telemetry = SelfTelemetry()
    limiter = await _limiter(sink, telemetry)
    try:
        receiver = await start_receiver({"http": {"endpoint": "127.0.0.1:0"}}, {Signal.TRACES: limiter}, telemetry)
        with StalledHttpBodies(receiver.http_port, 1, content_length=20_000_000) as announced:
            assert await wait_until(lambda: announced.ended() == 1, timeout=20)
            assert announced.statuses() == [413]
    finally:
        await limiter.shutdown()
