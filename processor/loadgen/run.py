"""Sending generated traffic at a steady rate, and saying what was sent."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp
import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.loadgen.spans import CHUNK_TEXT_KEY
from processor.loadgen.traffic import Traffic

_TICK = 0.1  # seconds between requests: rate / 10 traces per request
_MAX_IN_FLIGHT = 32


@dataclass
class LoadSettings:
    endpoint: str
    rate: float = 20.0
    duration: float = 10.0
    profile: str = "mixed"
    protocol: str = "grpc"
    seed: int | None = None
    #: Chunk events carry their text under this attribute, and spans their completion; "" leaves content out.
    chunk_text_key: str = CHUNK_TEXT_KEY


class _Sender:
    def __init__(self, settings: LoadSettings) -> None:
        self.settings = settings
        self._channel = self._traces = self._logs = self._session = None

    async def __aenter__(self) -> _Sender:
        if self.settings.protocol == "grpc":
            self._channel = grpc.aio.insecure_channel(self.settings.endpoint)
            self._traces = trace_service_pb2_grpc.TraceServiceStub(self._channel)
            self._logs = logs_service_pb2_grpc.LogsServiceStub(self._channel)
        else:
            self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc) -> None:
        if self._channel is not None:
            await self._channel.close()
        if self._session is not None:
            await self._session.close()

    async def send(self, request) -> str | None:
        """None when accepted, else what the receiver said; traces or logs, by the request's type."""
        is_traces = isinstance(request, ExportTraceServiceRequest)
        if self._channel is not None:
            try:
                await (self._traces if is_traces else self._logs).Export(request, timeout=10)
            except grpc.aio.AioRpcError as exc:
                return exc.code().name
            return None
        url = f"http://{self.settings.endpoint}/v1/{'traces' if is_traces else 'logs'}"
        try:
            async with self._session.post(url, data=request.SerializeToString(),
                                          headers={"Content-Type": "application/x-protobuf"},
                                          timeout=aiohttp.ClientTimeout(total=10)) as response:
                return None if response.status == 200 else f"HTTP {response.status}"
        except aiohttp.ClientError as exc:
            return type(exc).__name__


async def generate(settings: LoadSettings, *, report=print) -> Counter[str]:
    """Send `rate` streams a second for `duration` seconds, plus the reconnects and feedback the users add;
    returns the counts of what was sent and refused. Reconnects not yet due when the time is up are not sent."""
    traffic = Traffic(settings.profile, random.Random(settings.seed), settings.chunk_text_key)
    sent: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    owed = 0.0
    start = time.monotonic()
    next_report = start + 5
    # Requests go out on schedule, several in flight, as many app processes would send them: a pipeline that
    # holds each request until it is delivered then slows no single sender below the rate asked for.
    gate = asyncio.Semaphore(_MAX_IN_FLIGHT)
    in_flight: set[asyncio.Task] = set()

    async def send_traces(builder) -> None:
        async with gate:
            problem = await sender.send(builder.request)
        if problem is None:
            sent.update(builder.counts)
        else:
            refused[problem] += 1
            sent["refused_traces"] += builder.counts["traces"]

    async def send_logs(logs) -> None:
        async with gate:
            problem = await sender.send(logs.request)
        if problem is None:
            sent["feedback_logs"] += len(logs)
        else:
            refused[f"logs {problem}"] += 1

    def launch(coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)

    async with _Sender(settings) as sender:
        while (elapsed := time.monotonic() - start) < settings.duration:
            owed += settings.rate * _TICK
            streams, owed = int(owed), owed - int(owed)
            tick = traffic.tick(streams)
            for builder in tick.traces:
                launch(send_traces(builder))
            if len(tick.logs):
                launch(send_logs(tick.logs))
            if time.monotonic() >= next_report:
                report(f"loadgen: {elapsed:5.1f}s  {sent['traces']} streams sent, {sum(refused.values())} "
                       f"requests refused")
                next_report += 5
            await asyncio.sleep(max(0.0, start + (elapsed // _TICK + 1) * _TICK - time.monotonic()))
        if in_flight:
            await asyncio.gather(*in_flight)
    sent["elapsed_ms"] = int((time.monotonic() - start) * 1000)
    sent["reconnects_not_due"] = traffic.pending_reconnects
    for reason, count in refused.items():
        sent[f"refused:{reason}"] = count
    return sent
