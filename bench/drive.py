"""The one client every target gets: pre-encoded requests sent as raw bytes over grpc.aio, as fast as the server
answers, or paced at a fixed rate."""

from __future__ import annotations

import asyncio
import itertools
import time

import grpc

from bench.payloads import Fresh

_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


async def drive(port: int, bodies: Fresh, seconds: float, concurrency: int, rate: float | None = None,
                serial: itertools.count | None = None) -> dict:
    """Sends for `seconds`; with `rate` (requests/s) request i leaves at start + i/rate, never earlier.
    `serial` numbers the requests across runs on one target, so that every request has trace ids of its own.

    Returns {"acked": requests answered OK, "by_body": acked count per body index, "failures", "elapsed"}.
    """
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 * 2**20)])
    export = channel.unary_unary(_EXPORT, request_serializer=None, response_deserializer=None)
    by_body = [0] * len(bodies.bodies)
    serial = serial if serial is not None else itertools.count()
    failures = 0
    started = time.perf_counter()
    stop_at = started + seconds
    tickets = itertools.count()

    async def sender() -> None:
        nonlocal failures
        while True:
            ticket = next(tickets)
            if rate:
                due = started + ticket / rate
                if due >= stop_at:  # not due within the run: waiting for it would only stretch `elapsed`
                    return
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            if time.perf_counter() >= stop_at:
                return
            index = ticket % len(by_body)
            try:
                await export(bodies.body(index, next(serial)), timeout=60)
                by_body[index] += 1
            except grpc.aio.AioRpcError:
                failures += 1

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await channel.close()
    return {"acked": sum(by_body), "by_body": by_body, "failures": failures, "elapsed": elapsed}
