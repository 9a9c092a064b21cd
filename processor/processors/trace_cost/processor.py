"""trace_cost: one `TraceCost` rollup per trace (processor.processors.trace_cost.rollup), on
`batch.trace_costs`, for the `llm.trace.costs` topic and the `llm_trace_cost_usd` histogram.

A trace's rollup is emitted `wait` after its last stream record arrived: on the next batch passing through,
or from a background flush as a batch with an empty request (as the batch processor does after its timeout),
and on shutdown or `flush`. Beyond `max_traces` the oldest is emitted early and counted.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from processor.component import Consumer, CreateSettings
from processor.model.batch import Batch, Signal
from processor.processors.trace_cost.config import TraceCostConfig
from processor.processors.trace_cost.rollup import TraceRollup
from processor.processors.trace_cost.telemetry import eviction_counter
from processor.service.background_flush import BackgroundFlush


class TraceCostProcessor:
    #: Adds rollups to the batches it passes on.
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: TraceCostConfig, next_consumer: Consumer, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.next = next_consumer
        self.log = settings.logger
        self.wait = config.wait
        self.max_traces = config.max_traces
        self.clock = clock
        self.early = eviction_counter(settings.telemetry.registry).labels(str(settings.id))
        self.traces: OrderedDict[bytes, TraceRollup] = OrderedDict()  # least recently updated first
        self._flush = BackgroundFlush(config.wait, lambda: self._pop_expired(self.clock()), self._emit,
                                      name=f"{settings.id}.flush")

    async def start(self, host) -> None:
        self._flush.start()

    async def shutdown(self) -> None:
        await self._flush.stop()  # rollups it had popped arrive first
        await self._emit(self._pop_all())

    async def flush(self) -> None:
        """Emit every held rollup now (a `Flushable`); raises when downstream refuses, as the contract says: the
        caller (the kafka receiver, before it gives up its partitions) decides what that means."""
        rollups = self._pop_all()
        if rollups:
            batch = Batch.empty(Signal.TRACES)
            _attach(batch, rollups)
            await self.next.consume(batch)

    async def consume(self, batch: Batch) -> None:
        now = self.clock()
        early = []
        for record in batch.streams:
            rollup = self.traces.get(record.trace_id)
            if rollup is None:
                rollup = self.traces[record.trace_id] = TraceRollup(record.trace_id)
            else:
                self.traces.move_to_end(record.trace_id)
            rollup.add(record)
            rollup.deadline = now + self.wait
            while len(self.traces) > self.max_traces:
                early.append(self.traces.popitem(last=False)[1])
                self.early.inc()
        _attach(batch, early + self._pop_expired(now))
        await self.next.consume(batch)

    def _pop_expired(self, now: float) -> list[TraceRollup]:
        expired = []
        while self.traces:  # ordered by last update, so deadlines only grow along it
            trace_id, rollup = next(iter(self.traces.items()))
            if rollup.deadline > now:
                break
            expired.append(self.traces.pop(trace_id))
        return expired

    def _pop_all(self) -> list[TraceRollup]:
        rollups, self.traces = list(self.traces.values()), OrderedDict()
        return rollups

    async def _emit(self, rollups: list[TraceRollup]) -> None:
        if not rollups:
            return
        batch = Batch.empty(Signal.TRACES)
        _attach(batch, rollups)
        try:
            await self.next.consume(batch)
        except Exception as exc:  # no caller to report to: say what was lost
            self.log.warning("downstream refused %d trace cost rollups: %s", len(rollups), exc)


def _attach(batch: Batch, rollups: list[TraceRollup]) -> None:
    if rollups:
        batch.trace_costs.extend(r.to_message() for r in rollups)
