"""Measures the process's memory every check_interval and says whether data must be refused.

One monitor serves every instance of the same memory_limiter id (one per pipeline), as the
Collector shares one limiter across pipelines: it starts with the first and stops with the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable

from processor.processors.memory_limiter.config import MemoryLimiterConfig
from processor.processors.memory_limiter.usage import resident_bytes, total_memory_bytes

_MIB = 2**20


class MemoryMonitor:
    def __init__(self, config: MemoryLimiterConfig, log: logging.Logger, *,
                 read_usage: Callable[[], int] = resident_bytes, total_memory: int | None = None) -> None:
        self.interval = config.check_interval
        self.hard_limit, self.soft_limit = config.limits_bytes(total_memory or total_memory_bytes())
        self.read_usage = read_usage
        self.log = log
        self.usage = 0
        #: True while usage is above the soft limit: consume refuses data.
        self.refusing = False
        self._task: asyncio.Task | None = None
        self._users = 0

    def check(self) -> None:
        usage = self.read_usage()
        if usage >= self.hard_limit:
            gc.collect()  # the hard limit is close to running out: give back what Python can
            after = self.read_usage()
            self.log.warning("memory use %d MiB reached the hard limit %d MiB; forced garbage collection, now %d MiB",
                             usage // _MIB, self.hard_limit // _MIB, after // _MIB)
            usage = after
        self.usage = usage
        refusing = usage >= self.soft_limit
        if refusing and not self.refusing:
            self.log.warning("memory use %d MiB is above the soft limit %d MiB (limit %d MiB minus spike): refusing "
                             "data until it drops", usage // _MIB, self.soft_limit // _MIB, self.hard_limit // _MIB)
        elif self.refusing and not refusing:
            self.log.info("memory use %d MiB is below the soft limit %d MiB again: accepting data",
                          usage // _MIB, self.soft_limit // _MIB)
        self.refusing = refusing

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.check()
            except Exception:
                self.log.exception("could not measure memory use; keeping the last state")

    def acquire(self) -> None:
        """Called by each instance's start; the first one starts the checks."""
        self._users += 1
        if self._task is None:
            self.check()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="memory_limiter.check")

    async def release(self) -> None:
        """Called by each started instance's shutdown; the last one stops the checks."""
        self._users -= 1
        if self._users <= 0 and self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
