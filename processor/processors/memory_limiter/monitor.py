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
import threading
import time
from collections.abc import Callable

from processor.processors.memory_limiter.config import MemoryLimiterConfig
from processor.processors.memory_limiter.usage import release_free_memory, resident_bytes, total_memory_bytes

_MIB = 2**20


#: The oldest reading a refusal decision may use. In an overload requests come faster than the periodic check: those
#: taken between two checks carried RSS past the limit (overload scenario, limit 256 MiB, on the check's reading
#: alone: 275 MiB with 500 clients, 310-364 MiB with 2000; with this, 205-244 MiB).
_FRESH_S = 0.01
#: A released reservation of at least this part of the request budget has memory read afresh at the next decision.
_REREAD_PART = 16
#: The least time between two heap trims after large requests (`after_large_request`).
_TRIM_S = 0.1


class MemoryMonitor:
    def __init__(self, config: MemoryLimiterConfig, log: logging.Logger, *,
                 read_usage: Callable[[], int] = resident_bytes, total_memory: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = config.check_interval
        self.hard_limit, self.soft_limit = config.limits_bytes(total_memory or total_memory_bytes())
        #: The setting that sets the headroom between the two limits, to name in a refusal.
        self.spike_key = "limit_mib or spike_limit_mib" if config.limit_mib is not None else \
            "limit_percentage or spike_limit_percentage"
        self.read_usage = read_usage
        self.clock = clock
        self.log = log
        self.usage = 0
        #: Bytes reserved for requests being decoded (`reserve`), not yet in `usage`.
        self.reserved = 0
        self._lock = threading.Lock()
        #: True while usage is above the soft limit: consume refuses data.
        self.refusing = False
        self._read_at = float("-inf")
        self.soft_gc_interval = config.min_gc_interval_when_soft_limited
        self._collected_at = float("-inf")
        self._trimmed_at = float("-inf")
        self._task: asyncio.Task | None = None
        self._users = 0

    def refusing_now(self) -> bool:
        """`refusing`, from a reading at most _FRESH_S old, counting the memory reserved for requests being
        decoded. Called for every request (from the gRPC receiver's thread too): reading /proc/self/statm costs
        microseconds; garbage collection is left to `check`."""
        self._read_if_stale()
        return self.refusing or self.usage + self.reserved >= self.soft_limit

    def _read_if_stale(self) -> None:
        now = self.clock()
        if now - self._read_at >= _FRESH_S:
            self._update(self.read_usage(), now)

    @property
    def request_budget(self) -> int:
        """The most one request may reserve: taken just under the soft limit, it then stays under the hard one."""
        return self.hard_limit - self.soft_limit

    def reserve(self, decoded_bytes: int) -> Reserved | None:
        """Reserves `decoded_bytes` for a request about to be decoded, or None when memory in use, what is
        reserved already and this would pass the hard limit (or use is at the soft limit). Between two readings a
        decode grows memory faster than they show it: the reservation holds its place until it is released."""
        with self._lock:
            self._read_if_stale()
            taken = self.usage + self.reserved
            if taken >= self.soft_limit or taken + decoded_bytes > self.hard_limit:
                return None
            self.reserved += decoded_bytes
        return Reserved(self, decoded_bytes)

    def _unreserve(self, decoded_bytes: int) -> None:
        with self._lock:
            self.reserved -= decoded_bytes
            if decoded_bytes >= self.request_budget // _REREAD_PART:
                self._read_at = float("-inf")  # what it reserved is in use now, or freed: read memory afresh
            else:
                # Counted as in use until the next reading (at most _FRESH_S away): usage + reserved does not drop,
                # so no decision is less careful than with the reservation held. Reading afresh after every small
                # request was a system call per request on the gRPC thread, each a hand-off of the GIL.
                self.usage += decoded_bytes
        self.after_large_request(decoded_bytes)

    def after_large_request(self, decoded_bytes: int) -> None:
        """A large request's body has been read (and decoded, or refused). gRPC reads a message in many small
        buffers, freed once the message is whole but left in the C heap: RSS kept ~2x the body of every large
        request refused until the next trim (10 s away above the soft limit), and memory_limiter refused others for
        memory nobody used. Such requests are few: the heap is trimmed after each, at most every _TRIM_S."""
        now = self.clock()
        if decoded_bytes >= self.request_budget // 4 and now - self._trimmed_at >= _TRIM_S:
            self._trimmed_at = now
            release_free_memory()
            self._read_at = float("-inf")

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


class Reserved:
    """A request's reservation in a MemoryMonitor; `release` once the request is decoded (or refused)."""

    def __init__(self, monitor: MemoryMonitor, decoded_bytes: int) -> None:
        self._monitor, self.decoded_bytes = monitor, decoded_bytes
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._monitor._unreserve(self.decoded_bytes)  # noqa: SLF001 - the monitor's own record
