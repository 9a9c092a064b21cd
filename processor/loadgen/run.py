"""Sending generated traffic at a steady rate, and saying what was sent."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp
import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from processor.loadgen.profiles import draw
from processor.loadgen.spans import TraceBuilder

_TICK = 0.1  # seconds between requests: rate / 10 traces per request


@dataclass
class LoadSettings:
    endpoint: str
    rate: float = 20.0
    duration: float = 10.0
    profile: str = "mixed"
    protocol: str = "grpc"
    seed: int | None = None


class _Sender:
    def __init__(self, settings: LoadSettings) -> None:
        self.settings = settings
        self._channel = self._stub = self._session = None

    async def __aenter__(self) -> _Sender:
        if self.settings.protocol == "grpc":
            self._channel = grpc.aio.insecure_channel(self.settings.endpoint)
            self._stub = trace_service_pb2_grpc.TraceServiceStub(self._channel)
        else:
            self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc) -> None:
        if self._channel is not None:
            await self._channel.close()
        if self._session is not None:
            await self._session.close()

    async def send(self, request) -> str | None:
        """None when accepted, else what the receiver said."""
        if self._stub is not None:
            try:
                await self._stub.Export(request, timeout=10)
            except grpc.aio.AioRpcError as exc:
                return exc.code().name
            return None
        url = f"http://{self.settings.endpoint}/v1/traces"
        try:
            async with self._session.post(url, data=request.SerializeToString(),
                                          headers={"Content-Type": "application/x-protobuf"},
                                          timeout=aiohttp.ClientTimeout(total=10)) as response:
                return None if response.status == 200 else f"HTTP {response.status}"
        except aiohttp.ClientError as exc:
            return type(exc).__name__


async def generate(settings: LoadSettings, *, report=print) -> Counter[str]:
    """Send `rate` streams a second for `duration` seconds; returns the counts of what was sent and refused."""
    rng = random.Random(settings.seed)
    sent: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    owed = 0.0
    start = time.monotonic()
    next_report = start + 5
    async with _Sender(settings) as sender:
        while (elapsed := time.monotonic() - start) < settings.duration:
            owed += settings.rate * _TICK
            batch, owed = int(owed), owed - int(owed)
            if batch:
                builder = TraceBuilder(rng)
                for _ in range(batch):
                    builder.add(draw(settings.profile, rng))
                problem = await sender.send(builder.request)
                if problem is None:
                    sent.update(builder.counts)
                else:
                    refused[problem] += 1
                    sent["refused_traces"] += builder.counts["traces"]
            if time.monotonic() >= next_report:
                report(f"loadgen: {elapsed:5.1f}s  {sent['traces']} streams sent, {sum(refused.values())} "
                       f"requests refused")
                next_report += 5
            await asyncio.sleep(max(0.0, start + (elapsed // _TICK + 1) * _TICK - time.monotonic()))
    sent["elapsed_ms"] = int((time.monotonic() - start) * 1000)
    for reason, count in refused.items():
        sent[f"refused:{reason}"] = count
    return sent
