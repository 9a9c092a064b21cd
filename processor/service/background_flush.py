"""The background flush of a processor that holds data for a wait (the stream processor's traces, trace_cost's
rollups): a few times per wait it takes what has come due and sends it downstream, so that held data leaves even
when no more traffic comes through to carry it.

What it has taken is no longer held anywhere else, so `stop` never cancels a send under way: the send runs in a
task of its own, shielded from the flush loop's cancellation, and `stop` returns once it has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


def interval_for(wait: float) -> float:
    """Five looks per wait, so data leaves at most a fifth of its wait late; never busier than 100 a second, never
    lazier than twice a second."""
    return min(max(wait / 5, 0.01), 0.5)


class BackgroundFlush(Generic[Item]):
    """Every `interval_for(wait)` seconds, `send(take_due())` when there is anything due.

    `take_due` must not await (what it returns is handed to the send in the same step); `send` is called without a
    caller to report to, so it reports its own failures. `start` and `stop` are called from the event loop, by the
    processor's own `start` and `shutdown`.
    """

    def __init__(self, wait: float, take_due: Callable[[], list[Item]],
                 send: Callable[[list[Item]], Awaitable[None]], *, name: str) -> None:
        self.interval = interval_for(wait)
        self.take_due = take_due
        self.send = send
        self.name = name
        self._task: asyncio.Task | None = None
        self._sending: asyncio.Future | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._flush_periodically(), name=self.name)

    async def stop(self) -> None:
        """Stop flushing; returns once a send under way has finished. Harmless without `start`, and twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sending, self._sending = self._sending, None
        if sending is not None:  # what the loop had taken is on its way: let it arrive
            with contextlib.suppress(asyncio.CancelledError):
                await sending

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            due = self.take_due()
            if not due:
                continue
            self._sending = asyncio.ensure_future(self.send(due))
            await asyncio.shield(self._sending)  # a cancelled loop leaves the send running, for `stop` to await
            self._sending = None
