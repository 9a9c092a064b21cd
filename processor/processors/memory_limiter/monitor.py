"""Measures the process's memory every check_interval, and at each refusal decision, and says whether data must be
refused.

One monitor serves every instance of the same memory_limiter id (one per pipeline), as the
Collector shares one limiter across pipelines: it starts with the first and stops with the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable

from processor.processors.memory_limiter.config import MemoryLimiterConfig
from processor.processors.memory_limiter.usage import release_free_memory, resident_bytes, total_memory_bytes

_MIB = 2**20


#: The oldest reading a refusal decision may use. In an overload requests come faster than the periodic check: those
#: taken between two checks carried RSS past the limit (overload scenario, limit 256 MiB, on the check's reading
#: alone: 275 MiB with 500 clients, 310-364 MiB with 2000; with this, 205-244 MiB).
_FRESH_S = 0.01


class MemoryMonitor:
    def __init__(self, config: MemoryLimiterConfig, log: logging.Logger, *,
                 read_usage: Callable[[], int] = resident_bytes, total_memory: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = config.check_interval
        self.hard_limit, self.soft_limit = config.limits_bytes(total_memory or total_memory_bytes())
        self.read_usage = read_usage
        self.clock = clock
        self.log = log
        self.usage = 0
        #: True while usage is above the soft limit: consume refuses data.
        self.refusing = False
        self._read_at = float("-inf")
        self.soft_gc_interval = config.min_gc_interval_when_soft_limited
        self._collected_at = float("-inf")
        self._task: asyncio.Task | None = None
        self._users = 0

    def refusing_now(self) -> bool:
        """`refusing`, from a reading at most _FRESH_S old. Called for every request (from the gRPC receiver's
        thread too): reading /proc/self/statm costs microseconds; garbage collection is left to `check`."""
        now = self.clock()
        if now - self._read_at >= _FRESH_S:
            self._update(self.read_usage(), now)
        return self.refusing

    def check(self) -> None:
        usage, now = self.read_usage(), self.clock()
        hard = usage >= self.hard_limit
        if hard or (usage >= self.soft_limit and now - self._collected_at >= self.soft_gc_interval):
            # Give back what Python can: garbage in reference cycles, and the C heap's free pages. Above the soft
            # limit only every soft_gc_interval, as the Collector does: a collection holds the pipeline's loop.
            self._collected_at = now
            gc.collect()
            release_free_memory()
            after = self.read_usage()
            limit = self.hard_limit if hard else self.soft_limit
            self.log.log(logging.WARNING if hard else logging.INFO,
                         "memory use %d MiB is above the %s limit %d MiB; forced garbage collection, now %d MiB",
                         usage // _MIB, "hard" if hard else "soft", limit // _MIB, after // _MIB)
            usage = after
        self._update(usage, now)

    def _update(self, usage: int, now: float) -> None:
        self._read_at, self.usage = now, usage
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
