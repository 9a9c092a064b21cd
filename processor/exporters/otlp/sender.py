"""The loops that take requests from the sending queue and send them, `num_consumers` at a time.

Each answer is handled as the OTLP specification asks of a client: accepted (a partial success included: never
sent again), retried after the server's delay or an exponential backoff, cut into pieces when over the backend's
size limit, or dropped for good (permanent). Retrying stops at `max_elapsed_time` unless the queue is on disk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from processor.exporters.exporterhelper.queue import SendQueue
from processor.exporters.otlp.config import RetryOnFailureConfig
from processor.exporters.otlp.outcome import Outcome, Result
from processor.exporters.otlp.request import QueuedRequest
from processor.model.batch import Signal

#: At most one "backend unavailable" warning per this many seconds.
_WARN_EVERY = 10.0


class Transport(Protocol):
    peer: str

    async def start(self) -> None: ...

    async def send(self, signal: Signal, body: bytes) -> Outcome: ...

    async def close(self) -> None: ...


class RequestSender:
    def __init__(self, queue: SendQueue, transport: Transport, retry: RetryOnFailureConfig, *, workers: int,
                 retry_forever: bool, settle: Callable[[QueuedRequest, Outcome], None],
                 cut: Callable[[QueuedRequest, Outcome], bool], on_resend: Callable[[QueuedRequest], None],
                 log: logging.Logger, name: str) -> None:
        self.queue = queue
        self.transport = transport
        self.retry = retry
        self.workers = workers
        self.retry_forever = retry_forever
        self.settle = settle
        self.cut = cut
        self.on_resend = on_resend
        self.log = log
        self.name = name
        self.in_flight: set[QueuedRequest] = set()
        self._last_warning = 0.0

    async def run(self) -> None:
        await asyncio.gather(*(self._work() for _ in range(self.workers)))

    async def _work(self) -> None:
        while True:
            (request,) = await self.queue.take(1)
            if request.attempts:
                self.on_resend(request)
            self.in_flight.add(request)  # left there when cancelled (shutdown), for the exporter to settle
            try:
                outcome = await self.transport.send(request.signal, request.body)
            except Exception as exc:  # noqa: BLE001 - a transport fault (connection refused, reset): retry later
                outcome = Outcome.retry(f"{type(exc).__name__}: {exc}")
            self.in_flight.discard(request)
            self._handle(request, outcome)

    def _handle(self, request: QueuedRequest, outcome: Outcome) -> None:
        if outcome.result is Result.RETRY:
            self._retry_later(request, outcome)
        elif outcome.result is Result.TOO_LARGE and self.cut(request, outcome):
            return  # its pieces are in the queue; the whole settles when they have
        else:
            self.settle(request, outcome)

    def _retry_later(self, request: QueuedRequest, outcome: Outcome) -> None:
        now = time.monotonic()
        request.attempts += 1
        if request.first_failure is None:
            request.first_failure = now
        deadline = self.retry.max_elapsed_time
        out_of_time = not self.retry_forever and deadline and now - request.first_failure >= deadline
        if not self.retry.enabled or out_of_time:
            self.settle(request, outcome)
            return
        delay = outcome.retry_after if outcome.retry_after is not None else self.retry.backoff(request.attempts)
        self.queue.retry(request, delay)
        if now - self._last_warning >= _WARN_EVERY:
            self._last_warning = now
            self.log.warning("%s: cannot deliver to %s (%s); retrying in %.1fs, %d requests queued", self.name,
                             self.transport.peer, outcome.message, delay, self.queue.size)
