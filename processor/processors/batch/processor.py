"""The batch processor: merges small batches into bigger ones, sent when big enough or after a timeout.

With `wait_for_delivery` (the default) `consume` returns only once the batch holding its data has been
taken downstream, and raises what downstream raised: a receiver then acknowledges nothing that is only in
this buffer, so a crash loses nothing the client was told is safe, and a slow or failing downstream slows
down and fails the receiver's requests (UNAVAILABLE/503 at the client). Without it, `consume` returns once
the data is buffered (lower latency; a crash loses the buffer), and a batch sent after the timeout has no
caller to report to: its errors are logged and counted as refused.

Requests of many clients are merged into one batch. When downstream refuses some spans by name (`RejectedSpans`:
a span too large for a Kafka record), each caller is answered for its own spans only: the others' data was taken.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.errors import RejectedSpans, SpanKey
from processor.model.batch import Batch, Signal, span_keys
from processor.processors.batch.callers import Caller, finish_all
from processor.processors.batch.config import BatchConfig
from processor.processors.batch.split import split_batch
from processor.service.fanout import raise_combined
from processor.wire import TraceIndex


class _Buffer:
    """What one signal is waiting to send."""

    __slots__ = ("pending", "items", "timer", "callers")

    def __init__(self) -> None:
        self.pending: Batch | None = None
        self.items = 0  # kept as a running count: counting a merged batch walks all of it
        self.timer: asyncio.TimerHandle | None = None
        self.callers: list[Caller] = []  # callers waiting for `pending` to be sent

    def add(self, batch: Batch, future: asyncio.Future | None) -> Caller:
        self.items += batch.item_count()
        own = batch.index() if batch.signal is Signal.TRACES and not batch.decoded else None
        if self.pending is None:
            self.pending = batch  # adopted, not copied: hence mutates_data
            first = 0
        else:
            first = _resources(self.pending) if own is None else 0  # bytes: the caller's own index has its keys
            self.pending.merge(batch)
        caller = Caller(future, batch.signal, _keys(own, self.pending, first))
        if future is not None:
            self.callers.append(caller)
        return caller

    def take_all(self, max_size: int) -> tuple[list[Batch], list[Caller]]:
        pending, self.pending, self.items = self.pending, None, 0
        callers, self.callers = self.callers, []
        return (split_batch(pending, max_size) if pending else []), callers

    def take_full(self, size: int, max_size: int) -> tuple[list[Batch], list[Caller]]:
        """Full batches to send now; a last part smaller than `size` stays pending. Which caller's data ended
        up in that part is not known, so every caller waits for it too: its send settles them."""
        parts, callers = self.take_all(max_size)
        if parts and len(parts) > 1 and parts[-1].item_count() < size:
            self.pending = parts.pop()
            self.items = self.pending.item_count()
            self.callers, callers = callers, []
        return parts, callers

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _resources(batch: Batch) -> int:
    """ResourceSpans entries so far (a merge appends the next request's after them)."""
    if batch.signal is not Signal.TRACES:
        return 0
    return batch.index().resource_count if not batch.decoded else len(batch.request.resource_spans)


def _keys(own: TraceIndex | None, pending: Batch, first: int) -> Callable[[], set[SpanKey]]:
    """A caller's span keys: from the index of the bytes it sent (merging never changes them), or, for a decoded
    batch, from its resource entries in the pending request (`first` up to those there now)."""
    if own is not None:
        return own.span_keys
    if pending.signal is not Signal.TRACES:
        return set
    request, last = pending.request, _resources(pending)
    return lambda: span_keys(request.resource_spans[first:last])


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
        caller = buffer.add(batch, loop.create_future() if self.wait_for_delivery else None)
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
            await self._send_and_settle(ready, settled, buffer, caller)
        if caller.future is not None:
            await caller.future

    async def _send_and_settle(self, parts: list[Batch], callers: list[Caller], buffer: _Buffer,
                               trigger: Caller) -> None:
        """Send, then tell the callers whose data went. Spans refused by name go to the callers that sent them
        (also to those left waiting on the remainder, answered when it is sent); any other failure also fails the
        callers left waiting, since their data may have been in what failed (they retry: at least once). With no
        caller waiting, the caller whose request triggered the send hears of its own refused spans."""
        try:
            await self._send(parts)
        except RejectedSpans as exc:
            if not callers and not buffer.callers:
                if (mine := trigger.own(exc)) is not None:
                    raise mine from None
                return
            for caller in buffer.callers:
                caller.note(exc)
            finish_all(callers, exc)
            return
        except Exception as exc:
            if not callers and not buffer.callers:
                raise
            finish_all([*callers, *buffer.callers], exc)
            buffer.callers = []
            return
        finish_all(callers, None)

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
                items = len(exc.spans) if isinstance(exc, RejectedSpans) else part.item_count()
                self.refused.inc(items)
                self.log.warning("downstream refused %d of a batch of %d %s: %s", items, part.item_count(),
                                 part.signal.value, exc)
                errors.append(exc)
        raise_combined(errors)

    async def _send_logged(self, parts: list[Batch], callers: list[Caller], why: str) -> None:
        """A send no caller awaits: its result goes to the callers, else to the log."""
        try:
            await self._send(parts)
        except Exception as exc:
            self.log.debug("a batch sent %s was refused (logged above)", why)
            finish_all(callers, exc)
            return
        finish_all(callers, None)

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
