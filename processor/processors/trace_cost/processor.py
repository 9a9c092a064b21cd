"""trace_cost: one `TraceCost` rollup per trace (processor.processors.trace_cost.rollup), on
`batch.trace_costs`, for the `llm.trace.costs` topic and the `llm_trace_cost_usd` histogram.

A trace's rollup is emitted `wait` after its last stream record arrived: on the next batch passing through,
or from a background flush as a batch with an empty request (as the batch processor does after its timeout),
and on shutdown or `flush`. Beyond `max_traces` the oldest is emitted early and counted.

Rollups have no client behind them to send them again: those downstream refuses are held again, due at once, and
leave with the next batch or background flush (one that a later record of the trace began takes them in). Shutdown
sends what is held with a backoff until it is taken. They are given up only when downstream refuses them for good (a
PermanentError) or the shutdown's deadline cuts the drain short: logged and counted in
`tokenstream_trace_cost_lost_rollups_total`, never dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from processor.component import Consumer, CreateSettings
from processor.errors import PermanentError
from processor.model.batch import Batch, Signal
from processor.processors.trace_cost.config import TraceCostConfig
from processor.processors.trace_cost.rollup import TraceRollup
from processor.processors.trace_cost.telemetry import eviction_counter, lost_counter
from processor.service.background_flush import BackgroundFlush

#: Seconds before shutdown sends refused rollups again, and at most between two tries (the stream processor's).
FIRST_DELAY = 0.1
MAX_DELAY = 2.0


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
        self.lost = lost_counter(settings.telemetry.registry).labels(str(settings.id))
        self.traces: OrderedDict[bytes, TraceRollup] = OrderedDict()  # least recently updated first
        self._refusing = False  # the background flush's last send was refused
        self._flush = BackgroundFlush(config.wait, lambda: self._pop_expired(self.clock()), self._emit,
                                      name=f"{settings.id}.flush")

    async def start(self, host) -> None:
        self._flush.start()

    async def shutdown(self) -> None:
        """Sends every held rollup, again while downstream refuses, until taken or cancelled (the shutdown's
        deadline): then what is left is counted as lost."""
        await self._flush.stop()  # rollups it had popped arrive first (or are held again)
        rollups, delay = self._pop_all(), FIRST_DELAY
        try:
            while rollups:
                try:
                    await self._send(rollups)
                    return
                except PermanentError as exc:
                    self._lose(rollups, f"downstream refused them for good: {exc}")
                    return
                except Exception as exc:  # noqa: BLE001 - still refused: wait longer, keep them
                    self.log.debug("downstream still refuses %d trace cost rollups: %s", len(rollups), exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
        except asyncio.CancelledError:
            self._lose(rollups, "shutdown ran out of time")
            raise

    async def flush(self) -> None:
        """Emit every held rollup now (a `Flushable`); raises when downstream refuses, as the contract says: the
        caller (the kafka receiver, before it gives up its partitions) decides what that means."""
        rollups = self._pop_all()
        if rollups:
            try:
                await self._send(rollups)
            except Exception:
                self._hold_again(rollups)
                raise

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
        leaving = early + self._pop_expired(now)
        _attach(batch, leaving)
        try:
            await self.next.consume(batch)
        except Exception:  # the client sends its spans again, not these
            self._hold_again(leaving)
            raise

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

    def _hold_again(self, rollups: list[TraceRollup]) -> None:
        """Refused rollups, held again first in line and due at once; a rollup a later record of the trace began
        takes its earlier one in."""
        for rollup in reversed(rollups):  # the oldest ends up first
            later = self.traces.get(rollup.trace_id)
            if later is not None:
                later.take_earlier(rollup)
                continue
            rollup.deadline = min(rollup.deadline, self.clock())
            self.traces[rollup.trace_id] = rollup
            self.traces.move_to_end(rollup.trace_id, last=False)

    def _lose(self, rollups: list[TraceRollup], why: str) -> None:
        self.lost.inc(len(rollups))
        self.log.error("gave up %d trace cost rollups downstream refused: %s", len(rollups), why)

    async def _send(self, rollups: list[TraceRollup]) -> None:
        batch = Batch.empty(Signal.TRACES)
        _attach(batch, rollups)
        await self.next.consume(batch)

    async def _emit(self, rollups: list[TraceRollup]) -> None:
        """The background flush's send: no caller to report to, so a refusal holds them again."""
        try:
            await self._send(rollups)
        except PermanentError as exc:
            self._lose(rollups, f"downstream refused them for good: {exc}")
        except Exception as exc:  # noqa: BLE001 - sent again with the next flush
            # once per outage, not once per flush (a few times a wait)
            level = logging.DEBUG if self._refusing else logging.WARNING
            self.log.log(level, "downstream refused %d trace cost rollups (%s): sending them again", len(rollups),
                         exc or type(exc).__name__)
            self._refusing = True
            self._hold_again(rollups)
        else:
            self._refusing = False


def _attach(batch: Batch, rollups: list[TraceRollup]) -> None:
    if rollups:
        batch.trace_costs.extend(r.to_message() for r in rollups)
