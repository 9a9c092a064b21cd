"""Start, bind errors, port 0, registration, and a shutdown that lets requests in flight finish."""

from __future__ import annotations

import asyncio
import socket

import grpc
import pytest

from processor.component import Kind
from processor.model.batch import Batch, Signal
from processor.receivers.otlp import factory
from processor.receivers.otlp.config import OtlpReceiverConfig
from processor.service import registry
from processor.service.fanout import SignalRouter
from processor.testing import create_settings
from tests.receivers.otlp.otlp_helpers import good_span, grpc_export, post, trace_request

GOOD = trace_request(good_span())


async def test_port_zero_binds_free_ports_and_exposes_them(start_receiver):
    receiver = await start_receiver()
    assert receiver.grpc_port and receiver.http_port and receiver.grpc_port != receiver.http_port


@pytest.mark.parametrize("protocol", ["grpc", "http"])
async def test_taken_port_fails_start_with_a_clear_error(start_receiver, protocol):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        port = holder.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"127\.0\.0\.1:{port}"):
            await start_receiver({protocol: {"endpoint": f"127.0.0.1:{port}"}})
    finally:
        holder.close()


async def test_second_receiver_on_the_same_grpc_port_fails(start_receiver):
    first = await start_receiver({"grpc": {"endpoint": "127.0.0.1:0"}})
    with pytest.raises(RuntimeError, match="in use"):
        await start_receiver({"grpc": {"endpoint": f"127.0.0.1:{first.grpc_port}"}})


async def test_a_failed_start_releases_the_port_it_had_bound(start_receiver):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    grpc_port = free.getsockname()[1]
    free.close()
    try:
        with pytest.raises(RuntimeError):
            await start_receiver({"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"},
                                  "http": {"endpoint": f"127.0.0.1:{holder.getsockname()[1]}"}})
    finally:
        holder.close()
    again = await start_receiver({"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"}})
    assert again.grpc_port == grpc_port


async def test_shutdown_without_start_is_harmless():
    receiver = factory.create(create_settings("otlp", Kind.RECEIVER), OtlpReceiverConfig(), SignalRouter({}))
    await receiver.shutdown()


def test_factory_is_registered_for_every_signal():
    assert registry.get(Kind.RECEIVER, "otlp") is factory
    assert factory.signals == frozenset(Signal)


class _Gate:
    """A consumer that holds every batch until released, so that requests stay in flight."""

    mutates_data = False

    def __init__(self) -> None:
        self.arrived = 0
        self.released = asyncio.Event()
        self.batches: list[Batch] = []

    async def consume(self, batch: Batch) -> None:
        self.arrived += 1
        await self.released.wait()
        self.batches.append(batch)


async def _until(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def _refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


async def test_shutdown_stops_accepting_and_lets_requests_in_flight_finish(start_receiver):
    gate = _Gate()
    receiver = await start_receiver(routes={Signal.TRACES: gate})
    in_flight_grpc = asyncio.create_task(grpc_export(receiver.grpc_port, GOOD))
    in_flight_http = asyncio.create_task(post(receiver.http_port, "/v1/traces", GOOD.SerializeToString()))
    await _until(lambda: gate.arrived == 2)

    shutdown = asyncio.create_task(receiver.shutdown())
    await _until(lambda: _refuses_connections(receiver.http_port))
    with pytest.raises(grpc.aio.AioRpcError):
        await grpc_export(receiver.grpc_port, GOOD)
    assert not shutdown.done() and gate.arrived == 2

    gate.released.set()
    assert (await in_flight_http)[0] == 200
    assert not (await in_flight_grpc).HasField("partial_success")
    await asyncio.wait_for(shutdown, 10)
    assert len(gate.batches) == 2
