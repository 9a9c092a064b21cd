"""The bounded sending queue: records (kafka) or requests (otlp) handed over and not yet acknowledged (or failed).

`size` counts every such record: waiting to be sent, in flight, or waiting for a retry. A caller
reserves room first (`reserve`): with `block` it waits for room, with `drop_newest` it is told no.
A reservation larger than the whole capacity is let in when the queue is empty, so it cannot wait
forever. Everything runs on the event loop; the senders' answers call `finish` and `retry`.
`name` and `peer` only word the errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable

from processor.errors import RetryableError
from processor.exporters.exporterhelper.item import Queued


class Delivery:
    """The records of one `consume` call: done when each is acknowledged or has failed for good.

    `refused` keeps the records that failed for good with their error, so that `consume` tells its caller which
    spans they held (kafka) or that the peer refused the data (otlp); a retriable failure (past the retry
    deadline) fails the whole call, to be sent again.
    """

    def __init__(self, count: int, *, name: str, peer: str) -> None:
        self.name = name
        self.peer = peer
        self.pending = count
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.retryable: BaseException | None = None
        self.refused: list[tuple[Queued, BaseException]] = []

    def settle(self, record: Queued, error: BaseException | None, *, retryable: bool) -> None:
        if error is not None:
            if retryable:
                self.retryable = error
            else:
                self.refused.append((record, error))
        self.settled(1)

    def settled(self, count: int) -> None:
        """`count` records acknowledged (`settle(record, None, ...)` for each)."""
        self.pending -= count
        if self.pending <= 0 and not self.future.done():
            self.future.set_result(None)

    async def wait(self) -> None:
        """Returns when every record is settled; raises RetryableError when one could not be delivered in time."""
        await asyncio.shield(self.future)
        if self.retryable is not None:
            raise RetryableError(f"{self.name}: records not acknowledged by {self.peer}: {self.retryable}")


class SendQueue:
    def __init__(self, capacity: int, *, block: bool, on_size: Callable[[int], None] = lambda _: None,
                 name: str) -> None:
        self.name = name
        self.capacity = capacity
        self.block = block
        self.size = 0
        self.closed = False
        self._on_size = on_size
        self._ready: deque[Queued] = deque()
        self._delayed: list[tuple[float, int, Queued]] = []
        self._order = itertools.count()
        # Set (and replaced) when records arrive to be taken, and when room is freed: a waiter wakes only for what
        # it waits for (a full queue has many `reserve` callers waiting; a record put frees no room).
        self._arrived = asyncio.Event()
        self._freed = asyncio.Event()

    async def reserve(self, count: int) -> bool:
        """Room for `count` records; False when full and dropping. Raises RetryableError once closed."""
        while not self._has_room(count):
            if not self.block:
                return False
            await _changed(self._freed)
        if self.closed:
            raise RetryableError(f"{self.name} is shutting down")
        self._resize(count)
        return True

    def _has_room(self, count: int) -> bool:
        return self.closed or self.size == 0 or self.size + count <= self.capacity

    def add_recovered(self, count: int) -> None:
        """Records found on disk at start: they take room without asking (they were accepted before)."""
        self._resize(count)

    def put(self, records: list[Queued]) -> None:
        self._ready.extend(records)
        self._arrived = _wake(self._arrived)

    def retry(self, record: Queued, delay: float) -> None:
        heapq.heappush(self._delayed, (time.monotonic() + delay, next(self._order), record))
        self._arrived = _wake(self._arrived)

    def finish(self, count: int = 1) -> None:
        """`count` reserved records left the queue: acknowledged, failed for good, or never put."""
        self._resize(-count)

    async def take(self, limit: int) -> list[Queued]:
        """Up to `limit` records that are due to be sent; waits until there is at least one."""
        while True:
            now = time.monotonic()
            while self._delayed and self._delayed[0][0] <= now:
                self._ready.append(heapq.heappop(self._delayed)[2])
            if self._ready:
                if len(self._ready) <= limit:  # all of them, without a popleft each
                    records = list(self._ready)
                    self._ready.clear()
                    return records
                return [self._ready.popleft() for _ in range(limit)]
            timeout = self._delayed[0][0] - now if self._delayed else None
            await _changed(self._arrived, timeout)

    def unsent(self) -> list[Queued]:
        """Every record waiting to be sent or retried (not in flight), removed from the queue."""
        records = list(self._ready) + [entry[2] for entry in self._delayed]
        self._ready.clear()
        self._delayed.clear()
        return records

    async def wait_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.size > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await _changed(self._freed, remaining)
        return True

    def close(self) -> None:
        """Wake every waiting `reserve`, which then fails: nothing new is accepted."""
        self.closed = True
        self._arrived = _wake(self._arrived)
        self._freed = _wake(self._freed)

    def _resize(self, delta: int) -> None:
        self.size += delta
        self._on_size(self.size)
        if delta < 0:
            self._freed = _wake(self._freed)


def _wake(event: asyncio.Event) -> asyncio.Event:
    """Wakes the waiters of `event`; the event the next ones wait on."""
    event.set()
    return asyncio.Event()


async def _changed(event: asyncio.Event, timeout: float | None = None) -> None:
    if timeout is None:  # no timer (wait_for's costs a loop look-up, a future and a handle per wait)
        await event.wait()
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
