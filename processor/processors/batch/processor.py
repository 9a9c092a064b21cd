"""The batch processor: merges small batches into bigger ones, sent when big enough or after a timeout.

With `wait_for_delivery` (the default) `consume` returns only once the batch holding its data has been
taken downstream, and raises what downstream raised: a receiver then acknowledges nothing that is only in
this buffer, so a crash loses nothing the client was told is safe, and a slow or failing downstream slows
down and fails the receiver's requests (UNAVAILABLE/503 at the client). Without it, `consume` returns once
the data is buffered (lower latency; a crash loses the buffer), and a batch sent after the timeout has no
caller to report to: its errors are logged and counted as refused.
"""

from __future__ import annotations

import asyncio

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.model.batch import Batch, Signal
from processor.processors.batch.config import BatchConfig
from processor.processors.batch.split import split_batch
from processor.service.fanout import raise_combined


class _Buffer:
    """What one signal is waiting to send."""

    __slots__ = ("pending", "items", "timer", "waiters")

    def __init__(self) -> None:
        self.pending: Batch | None = None
        self.items = 0  # kept as a running count: counting a merged batch walks all of it
        self.timer: asyncio.TimerHandle | None = None
        self.waiters: list[asyncio.Future] = []  # callers whose data is in `pending`

    def add(self, batch: Batch, waiter: asyncio.Future | None) -> None:
        self.items += batch.item_count()
        if self.pending is None:
            self.pending = batch  # adopted, not copied: hence mutates_data
        else:
            self.pending.merge(batch)
        if waiter is not None:
            self.waiters.append(waiter)

    def take_all(self, max_size: int) -> tuple[list[Batch], list[asyncio.Future]]:
        pending, self.pending, self.items = self.pending, None, 0
        waiters, self.waiters = self.waiters, []
        return (split_batch(pending, max_size) if pending else []), waiters

    def take_full(self, size: int, max_size: int) -> tuple[list[Batch], list[asyncio.Future]]:
        """Full batches to send now; a last part smaller than `size` stays pending. Which caller's data ended
        up in that part is not known, so every caller waits for it too: its send settles them."""
        parts, waiters = self.take_all(max_size)
        if parts and len(parts) > 1 and parts[-1].item_count() < size:
            self.pending = parts.pop()
            self.items = self.pending.item_count()
            self.waiters, waiters = waiters, []
        return parts, waiters

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class BatchProcessor(ComponentBase):
    #: Incoming batches become the pending batch and later ones are merged into it.
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: BatchConfig, next_consumer: Consumer) -> None:
        self.next = next_consumer
        self.log = settings.logger
        self.size = config.send_batch_size
        self.max_size = config.send_batch_max_size
        self.timeout = config.timeout
        self.wait_for_delivery = config.wait_for_delivery
        self.refused = settings.telemetry.processor_refused.labels(str(settings.id), settings.pipeline)
        self._buffers = {signal: _Buffer() for signal in Signal}
        self._timed_sends: set[asyncio.Task] = set()
        self._stopped = False

    async def consume(self, batch: Batch) -> None:
        if batch.is_empty():
            return
        if self._stopped:  # late data after shutdown goes straight through rather than being lost
            return await self._send(split_batch(batch, self.max_size))
        buffer = self._buffers[batch.signal]
        loop = asyncio.get_running_loop()
        waiter = loop.create_future() if self.wait_for_delivery else None
        buffer.add(batch, waiter)
        if self.timeout == 0:
            ready, settled = buffer.take_all(self.max_size)
        elif self.size and buffer.items >= self.size:
            ready, settled = buffer.take_full(self.size, self.max_size)
            buffer.cancel_timer()  # the timer restarts for what stayed, as the Collector does after a send
        else:
            ready, settled = [], []
        if buffer.pending is not None and buffer.timer is None:
            buffer.timer = loop.call_later(self.timeout, self._on_timeout, batch.signal)
        if ready:
            await self._send_and_settle(ready, settled, buffer)
        if waiter is not None:
            await waiter

    async def _send_and_settle(self, parts: list[Batch], waiters: list[asyncio.Future], buffer: _Buffer) -> None:
        """Send, then tell the callers whose data went; a failure also fails those left waiting on the
        remainder, since their data may have been in what failed (they retry: at least once)."""
        try:
            await self._send(parts)
        except Exception as exc:
            if not waiters and not buffer.waiters:
                raise
            for waiter in (*waiters, *buffer.waiters):
                if not waiter.done():
                    waiter.set_exception(exc)
            buffer.waiters = []
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _on_timeout(self, signal: Signal) -> None:
        buffer = self._buffers[signal]
        buffer.timer = None
        ready, settled = buffer.take_all(self.max_size)
        if ready:
            task = asyncio.get_running_loop().create_task(self._send_logged(ready, settled, "after the timeout"))
            self._timed_sends.add(task)
            task.add_done_callback(self._timed_sends.discard)

    async def _send(self, parts: list[Batch]) -> None:
        errors = []
        for part in parts:
            try:
                await self.next.consume(part)
            except Exception as exc:
                items = part.item_count()
                self.refused.inc(items)
                self.log.warning("downstream refused a batch of %d %s: %s", items, part.signal.value, exc)
                errors.append(exc)
        raise_combined(errors)

    async def _send_logged(self, parts: list[Batch], waiters: list[asyncio.Future], why: str) -> None:
        """A send no caller awaits: its result goes to the waiters, else to the log."""
        try:
            await self._send(parts)
        except Exception as exc:
            self.log.debug("a batch sent %s was refused (logged above)", why)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def shutdown(self) -> None:
        """Sends everything still pending and waits for sends already under way."""
        self._stopped = True
        for buffer in self._buffers.values():
            buffer.cancel_timer()
            ready, settled = buffer.take_all(self.max_size)
            if ready:
                await self._send_logged(ready, settled, "at shutdown")
        if self._timed_sends:
            await asyncio.gather(*self._timed_sends, return_exceptions=True)
