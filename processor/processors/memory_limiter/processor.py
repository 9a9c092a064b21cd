"""The memory_limiter processor: refuses data while the process uses too much memory.

Refusal is a `RetryableError`, which the receiver answers with UNAVAILABLE/503 and a retry delay,
so clients back off and resend instead of the process running out of memory. Put it first in
every pipeline, so refused data has not yet cost anything downstream.
"""

from __future__ import annotations

from processor.component import Consumer, CreateSettings
from processor.errors import RetryableError
from processor.model.batch import Batch
from processor.processors.memory_limiter.config import MemoryLimiterConfig
from processor.processors.memory_limiter.monitor import MemoryMonitor

_MIB = 2**20


class MemoryLimiterProcessor:
    mutates_data = False

    def __init__(self, settings: CreateSettings, config: MemoryLimiterConfig, next_consumer: Consumer, *,
                 monitor: MemoryMonitor | None = None) -> None:
        self.next = next_consumer
        self.monitor = monitor or settings.shared.setdefault("monitor", MemoryMonitor(config, settings.logger))
        self.refused = settings.telemetry.processor_refused.labels(str(settings.id), settings.pipeline)
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
        return RetryableError(f"memory use {self.monitor.usage // _MIB} MiB is above the soft limit "
                              f"{self.monitor.soft_limit // _MIB} MiB; retry later",
                              retry_after=max(self.monitor.interval, 1.0))

    async def consume(self, batch: Batch) -> None:
        if (refusal := self.refusal()) is not None:
            self.refused.inc(batch.item_count())
            raise refusal
        await self.next.consume(batch)
