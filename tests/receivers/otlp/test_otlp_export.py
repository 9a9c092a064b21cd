"""The shared export path: limits that hold for both transports."""

from __future__ import annotations

import asyncio
import threading
import time

import grpc
import pytest

from processor.component import Kind
from processor.model.batch import Signal
from processor.receivers.otlp.export import PROTOBUF_DECODER, ExportHandler
from processor.receivers.otlp.failure import Failure
from processor.service.fanout import SignalRouter
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings
from tests.receivers.otlp.otlp_helpers import good_span, grpc_export, grpc_status_of, post, trace_request


class Held:
    """A pipeline that keeps every batch until `release` is set."""

    mutates_data = False

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.batches = 0

    async def consume(self, batch) -> None:
        await self.release.wait()
        self.batches += 1


async def test_requests_over_the_in_flight_limit_are_refused_at_once_with_a_retry_delay():
    """An overload is refused, not queued: the bodies of waiting requests would outgrow memory."""
    held = Held()
    settings = create_settings("otlp", Kind.RECEIVER)
    handler = ExportHandler(settings, SignalRouter({Signal.TRACES: held}), max_in_flight=2)

    body = trace_request(good_span()).SerializeToString()

    async def export() -> None:
        with handler.admitted(Signal.TRACES, "grpc", body, PROTOBUF_DECODER) as request:
            await handler.export(Signal.TRACES, request, "grpc")

    waiting = [asyncio.ensure_future(export()) for _ in range(2)]
    await asyncio.sleep(0.01)
    with pytest.raises(Failure) as refused:
        await export()
    assert refused.value.http_status == 503 and refused.value.retry_after == 1.0
    held.release.set()
    await asyncio.gather(*waiting)
    await export()  # room again


async def test_both_transports_refuse_a_request_over_the_limit_unread_and_take_the_next(start_receiver):
    """With the one place taken, a 4 MiB request is refused with a retry delay before its body is read (no span
    of it is counted), on gRPC and on HTTP; once the place is free the same request goes through."""
    held, telemetry = Held(), SelfTelemetry()
    receiver = await start_receiver(routes={Signal.TRACES: held}, telemetry=telemetry, max_in_flight_requests=1)
    first = asyncio.ensure_future(grpc_export(receiver.grpc_port, trace_request(good_span(1))))
    while receiver.handler.in_flight == 0:
        await asyncio.sleep(0.005)
    big = trace_request(*(good_span(n) for n in range(1, 200)), name="x" * 20_000)
    code, status = await grpc_status_of(receiver.grpc_port, big)
    http_status, headers, _ = await post(receiver.http_port, "/v1/traces", big.SerializeToString())
    assert code is grpc.StatusCode.UNAVAILABLE and "in flight" in status.message
    assert status.details, "no RetryInfo: an SDK would fall back to its own backoff"
    assert (http_status, headers.get("Retry-After")) == (503, "1")

    def sample(name: str, transport: str) -> float:
        labels = {"receiver": "otlp", "transport": transport}
        return telemetry.registry.get_sample_value(f"tokenstream_{name}_total", labels) or 0.0

    assert [sample("receiver_refused_requests", t) for t in ("grpc", "http")] == [1, 1]
    assert [sample("receiver_refused_spans", t) for t in ("grpc", "http")] == [0, 0]
    held.release.set()
    await first
    await grpc_export(receiver.grpc_port, big)
    assert held.batches == 2


async def test_a_grpc_client_is_refused_with_a_delay_before_its_deadline_not_left_to_time_out(start_receiver):
    """Downstream holds each request until its data is delivered; when that outlasts the client's deadline (a
    broker away), the client hears UNAVAILABLE with a retry delay just before the deadline."""
    held, telemetry = Held(), SelfTelemetry()
    receiver = await start_receiver(routes={Signal.TRACES: held}, telemetry=telemetry)
    loop = asyncio.get_running_loop()
    started = loop.time()
    code, status = await grpc_status_of(receiver.grpc_port, trace_request(good_span(1)), timeout=2.0)
    waited = loop.time() - started
    assert code is grpc.StatusCode.UNAVAILABLE and "deadline" in status.message, status
    assert status.details, "no RetryInfo"
    assert 1.0 < waited < 2.0
    assert telemetry.registry.get_sample_value("tokenstream_receiver_refused_spans_total",
                                               {"receiver": "otlp", "transport": "grpc"}) == 1


async def test_the_refusal_at_a_grpc_clients_deadline_does_not_wait_for_a_busy_pipeline_loop(start_receiver):
    """The pipeline's loop is busy (a long turn, a garbage collection) when a held call's deadline comes: the gRPC
    thread still answers UNAVAILABLE with a retry delay before the deadline, rather than the client timing out."""
    held, telemetry = Held(), SelfTelemetry()
    receiver = await start_receiver(routes={Signal.TRACES: held}, telemetry=telemetry)
    body = trace_request(good_span(1)).SerializeToString()

    def export_with_a_deadline_of_2s() -> tuple[grpc.StatusCode, float]:
        with grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=5)
            started = time.monotonic()
            try:
                channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")(body, timeout=2.0)
            except grpc.RpcError as error:
                return error.code(), time.monotonic() - started
            return grpc.StatusCode.OK, time.monotonic() - started

    client = asyncio.get_running_loop().run_in_executor(None, export_with_a_deadline_of_2s)
    await asyncio.sleep(0.8)  # the call is held downstream; from here until after its deadline, the loop is busy
    time.sleep(2.0)  # noqa: ASYNC251 - the busy pipeline loop this test is about
    code, waited = await client
    assert code is grpc.StatusCode.UNAVAILABLE, f"{code.name} after {waited:.2f} s"
    assert waited < 2.0
    assert telemetry.registry.get_sample_value("tokenstream_receiver_refused_spans_total",
                                               {"receiver": "otlp", "transport": "grpc"}) == 1
    assert receiver.handler.in_flight == 0


async def test_a_grpc_call_that_waited_past_its_deadline_in_grpcs_queue_is_refused_unread(start_receiver):
    """The gRPC server's event loop was busy until the call had under 0.1 s left: taking its data then could not be
    acknowledged in time (and the client's retry would deliver it twice), so it is refused unread with a delay."""
    held, telemetry = Held(), SelfTelemetry()
    receiver = await start_receiver(routes={Signal.TRACES: held}, telemetry=telemetry)
    body = trace_request(good_span(1)).SerializeToString()
    held_up, sent = threading.Event(), threading.Event()
    sent_at: list[float] = []

    def hold_up_the_grpc_loop() -> None:  # until the call sent has under 0.1 s left
        held_up.set()
        sent.wait(5)
        time.sleep(max(0.0, sent_at[0] + 0.95 - time.monotonic()))

    def export_with_a_deadline_of_1s() -> grpc.StatusCode:
        with grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=5)
            receiver._grpc._thread.loop.call_soon_threadsafe(hold_up_the_grpc_loop)
            held_up.wait(5)
            call = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export").future(
                body, timeout=1.0)
            sent_at.append(time.monotonic())
            sent.set()
            try:
                call.result()
            except grpc.RpcError as error:
                return error.code()
            return grpc.StatusCode.OK

    client = asyncio.get_running_loop().run_in_executor(None, export_with_a_deadline_of_1s)
    code = await client
    assert code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)  # the answer may lose the race
    labels = {"receiver": "otlp", "transport": "grpc"}
    refused_requests, refused_spans = (telemetry.registry.get_sample_value(f"tokenstream_receiver_{name}_total", labels)
                                       for name in ("refused_requests", "refused_spans"))
    assert (refused_requests, refused_spans or 0, receiver.handler.in_flight) == (1, 0, 0)
    held.release.set()
    await grpc_export(receiver.grpc_port, trace_request(good_span(2)))  # the next call, with time to spare, is taken
    assert held.batches == 1
