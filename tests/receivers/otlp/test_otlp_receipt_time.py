"""The receiver stamps when each request arrived on its batch: the start of the receipt-to-ack latency."""

from __future__ import annotations

import time

from processor.service.telemetry import SelfTelemetry
from tests.receivers.otlp.otlp_helpers import grpc_export, sink_routes, trace_request


async def test_a_grpc_request_carries_its_receipt_time(start_receiver, sink):
    receiver = await start_receiver({"grpc": {"endpoint": "127.0.0.1:0"}}, sink_routes(sink), SelfTelemetry())
    before = time.monotonic_ns()
    await grpc_export(receiver.grpc_port, trace_request((b"\x01" * 16, b"\x02" * 8)))
    after = time.monotonic_ns()
    (batch,) = sink.batches
    (received,) = batch.received_ns
    assert before <= received <= after
