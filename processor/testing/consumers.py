from __future__ import annotations

import asyncio
from collections.abc import Callable

from processor.model.batch import Batch


class SinkConsumer:
    """Keeps every batch it is given; `wait_for_items` lets a test wait for data to arrive."""

    def __init__(self, *, mutates_data: bool = False) -> None:
        self.mutates_data = mutates_data
        self.batches: list[Batch] = []
        self._changed = asyncio.Condition()

    async def consume(self, batch: Batch) -> None:
        self.batches.append(batch)
        async with self._changed:
            self._changed.notify_all()

    @property
    def item_count(self) -> int:
        return sum(b.item_count() for b in self.batches)

    @property
    def streams(self) -> list:
        return [s for b in self.batches for s in b.streams]

    @property
    def anomalies(self) -> list:
        return [a for b in self.batches for a in b.anomalies]

    def spans(self) -> list:
        return [span for b in self.batches if b.signal == "traces" for rs in b.request.resource_spans
                for ss in rs.scope_spans for span in ss.spans]

    async def wait_for_items(self, count: int, timeout: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.item_count >= count), timeout)

    def reset(self) -> None:
        self.batches.clear()


class HeldConsumer(SinkConsumer):
    """Holds every batch that `holds` picks until `release` is set, as a downstream waiting for a broker's
    acknowledgement does; `entered` is set once one is held. Other batches are taken at once."""

    def __init__(self, holds: Callable[[Batch], bool]) -> None:
        super().__init__()
        self.holds = holds
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def consume(self, batch: Batch) -> None:
        if self.holds(batch):
            self.entered.set()
            await self.release.wait()
        await super().consume(batch)


class FailingConsumer:
    """Raises the given error on every batch, counting the attempts."""

    mutates_data = False

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    async def consume(self, batch: Batch) -> None:
        self.calls += 1
        raise self.error
