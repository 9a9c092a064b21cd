"""The memory_limiter processor: refuses data while the process uses too much memory.

Refusal is a `RetryableError`, which the receiver answers with UNAVAILABLE/503 and a retry delay,
so clients back off and resend instead of the process running out of memory. Put it first in
every pipeline, so refused data has not yet cost anything downstream.
"""

from __future__ import annotations

from processor.component import Consumer, CreateSettings
from processor.errors import RequestTooLarge, RetryableError
from processor.model.batch import Batch
from processor.processors.memory_limiter.config import MemoryLimiterConfig
from processor.processors.memory_limiter.monitor import MemoryMonitor, Reserved

_MIB = 2**20


def _mib(size: int) -> int:
    return size // _MIB


class MemoryLimiterProcessor:
    mutates_data = False

    def __init__(self, settings: CreateSettings, config: MemoryLimiterConfig, next_consumer: Consumer, *,
                 monitor: MemoryMonitor | None = None) -> None:
        self.next = next_consumer
        self.monitor = monitor or settings.shared.setdefault("monitor", MemoryMonitor(config, settings.logger))
        self.id = str(settings.id)
        self.refused = settings.telemetry.processor_refused.labels(self.id, settings.pipeline)
        self._started = False

    async def start(self, host) -> None:
        self.monitor.acquire()
        self._started = True

    async def shutdown(self) -> None:
        if self._started:
            self._started = False
            await self.monitor.release()

    def refusal(self) -> RetryableError | None:
        """Asked by receivers before they read a request: refused unread, it costs no memory."""
        if not self.monitor.refusing_now():
            return None
        return RetryableError(f"memory use {_mib(self.monitor.usage)} MiB"
                              + (f" (and {_mib(self.monitor.reserved)} MiB reserved for requests being decoded)"
                                 if self.monitor.reserved else "")
                              + f" is above the soft limit {_mib(self.monitor.soft_limit)} MiB; retry later",
                              retry_after=max(self.monitor.interval, 1.0))

    def reserve(self, decoded_bytes: int) -> Reserved:
        """Memory for a request about to be decoded (Refusing.reserve): one that could never fit is refused for
        good, one that does not fit now for later."""
        monitor = self.monitor
        if decoded_bytes > monitor.request_budget:
            monitor.after_large_request(decoded_bytes)
            raise RequestTooLarge(
                f"{self.id}: the request would take about {_mib(decoded_bytes)} MiB once decoded, more "
                f"than one request may take ({_mib(monitor.request_budget)} MiB, the spike limit: limit "
                f"{_mib(monitor.hard_limit)} MiB minus soft limit {_mib(monitor.soft_limit)} MiB); send smaller "
                f"requests, or raise {monitor.spike_key}")
        reservation = monitor.reserve(decoded_bytes)
        if reservation is None:
            raise RetryableError(f"memory use {_mib(monitor.usage)} MiB, with {_mib(monitor.reserved)} MiB reserved "
                                 f"for requests being decoded, leaves no room for this request's "
                                 f"{_mib(decoded_bytes)} MiB under the limit {_mib(monitor.hard_limit)} MiB; "
                                 "retry later", retry_after=max(self.monitor.interval, 1.0))
        return reservation

    async def consume(self, batch: Batch) -> None:
        if (refusal := self.refusal()) is not None:
            self.refused.inc(batch.item_count())
            raise refusal
        await self.next.consume(batch)
