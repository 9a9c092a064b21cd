"""An OTLP/gRPC client that sends pre-serialized requests and keeps a ledger of what the receiver answered."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.reliability.traffic import Request, SpanKey, Traffic

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@dataclass
class Ledger:
    """What the receiver acknowledged (those spans must reach the sink) and how it refused the rest."""

    acknowledged: list[SpanKey] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    refused_spans: int = 0
    retry_delays: Counter[float] = field(default_factory=Counter)
    #: The first message seen with each refusal code, to say what it was
    details: dict[str, str] = field(default_factory=dict)
    #: Spans an OK answer said it refused (OTLP partial success)
    partially_refused_spans: int = 0

    @property
    def timeouts(self) -> int:
        return self.outcomes["DEADLINE_EXCEEDED"]

    def unexplained(self) -> dict[str, int]:
        """Answers other than OK and UNAVAILABLE-with-a-delay."""
        return {k: v for k, v in self.outcomes.items() if k not in ("OK", "UNAVAILABLE")}


def retry_delay(error: grpc.aio.AioRpcError) -> float | None:
    """The RetryInfo delay in the google.rpc.Status trailer, if the server sent one."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


class GrpcSender:
    def __init__(self, port: int, ledger: Ledger, *, timeout: float = 20.0) -> None:
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[
            ("grpc.max_send_message_length", 64 << 20)])
        self._export = self.channel.unary_unary(EXPORT)
        self.ledger = ledger
        self.timeout = timeout

    async def close(self) -> None:
        await self.channel.close()

    async def send(self, request: Request) -> str:
        try:
            answer = await self._export(request.body, timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            code = error.code().name
            delay = retry_delay(error) if error.code() == grpc.StatusCode.UNAVAILABLE else None
            if error.code() == grpc.StatusCode.UNAVAILABLE and delay is None:
                code = "UNAVAILABLE_WITHOUT_DELAY"
            if delay is not None:
                self.ledger.retry_delays[delay] += 1
            self.ledger.outcomes[code] += 1
            self.ledger.details.setdefault(code, error.details() or "")
            self.ledger.refused_spans += len(request.keys)
            return code
        partial = ExportTraceServiceResponse.FromString(answer).partial_success
        if partial.rejected_spans:
            self.ledger.outcomes["OK_PARTIAL"] += 1
            self.ledger.details.setdefault("OK_PARTIAL", partial.error_message)
            self.ledger.partially_refused_spans += partial.rejected_spans
            # which spans is not said; only the count. Those known to be too large are the ones owed no delivery
            refused = request.too_large if partial.rejected_spans == len(request.too_large) else frozenset()
            self.ledger.acknowledged += [key for key in request.keys if key not in refused]
            return "OK_PARTIAL"
        self.ledger.outcomes["OK"] += 1
        self.ledger.acknowledged += request.keys
        return "OK"


async def closed_loop(sender: GrpcSender, traffic: Traffic, *, seconds: float, concurrency: int) -> float:
    """Sends back to back from `concurrency` callers; returns the acknowledged spans per second."""
    before = len(sender.ledger.acknowledged)
    deadline = time.monotonic() + seconds

    async def caller() -> None:
        while time.monotonic() < deadline:
            await sender.send(traffic.next())

    start = time.monotonic()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return (len(sender.ledger.acknowledged) - before) / (time.monotonic() - start)


async def open_loop(sender: GrpcSender, traffic: Traffic, *, spans_per_s: float, seconds: float,
                    max_in_flight: int = 2000) -> int:
    """Offers `spans_per_s` whatever the answers are (as many independent clients would); returns spans offered.

    Beyond `max_in_flight` unanswered requests the client itself is saturated, and that share is not offered.
    """
    interval = traffic.spans_per_request / spans_per_s
    in_flight: set[asyncio.Task] = set()
    offered = 0
    start = time.monotonic()
    tick = 0
    while (now := time.monotonic()) - start < seconds:
        due = int((now - start) / interval) + 1
        while tick < due:
            tick += 1
            if len(in_flight) < max_in_flight:
                request = traffic.next()
                offered += len(request.keys)
                task = asyncio.create_task(sender.send(request))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        await asyncio.sleep(min(interval, 0.02))
    if in_flight:
        await asyncio.wait(in_flight, timeout=sender.timeout + 5)
    return offered


class SteadyLoad:
    """Back-to-back sends from `concurrency` callers, in the background, until `stop()`."""

    def __init__(self, sender: GrpcSender, traffic: Traffic, *, concurrency: int = 4) -> None:
        self.sender, self.traffic, self.concurrency = sender, traffic, concurrency
        self._running = True
        self._tasks: list[asyncio.Task] = []

    def start(self) -> SteadyLoad:
        self._tasks = [asyncio.create_task(self._caller()) for _ in range(self.concurrency)]
        return self

    async def _caller(self) -> None:
        while self._running:
            if await self.sender.send(self.traffic.next()) != "OK":
                await asyncio.sleep(0.1)  # a refused client backs off a little, as an SDK would

    async def stop(self) -> None:
        self._running = False
        await asyncio.wait(self._tasks, timeout=self.sender.timeout + 5)
