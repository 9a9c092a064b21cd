"""Final records downstream refused, sent again until taken.

A span batch that downstream refuses goes back to its client, which sends it again; the stream records the `stream`
processor made after a trace's `wait` have no client behind them (they were taken from the store: nothing else will
make them again). So a refusal (a full sending queue, memory backpressure, a timeout, an exporter shutting down)
keeps them here, and they are sent again with a backoff, until taken, for as long as the processor runs and through
its shutdown. They are given up only when the shutdown is cut short (service.shutdown_timeout), or when downstream
refuses them for good (a PermanentError: they would be refused again): counted in `tokenstream_stream_lost_records`
and logged, never dropped silently.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from processor.errors import PermanentError
from processor.model.batch import Batch, Signal
from processor.model.chunks import StreamChunks

#: Seconds before the first resend, and at most between two.
FIRST_DELAY = 0.1
MAX_DELAY = 2.0


@dataclasses.dataclass(frozen=True)
class Derived:
    """The final records a batch carried, copied before it went downstream (a batch processor merges others' data
    into the batch it adopts): a resend carries these and nothing else."""

    streams: list
    anomalies: list
    chunks: list[StreamChunks]

    @classmethod
    def of(cls, batch: Batch, streams: int = 0, anomalies: int = 0, chunks: int = 0) -> Derived:
        """What `batch` carries from the given positions on (those before were there before the records were made)."""
        return cls(batch.streams[streams:], batch.anomalies[anomalies:], batch.chunks[chunks:])

    def __bool__(self) -> bool:
        return bool(self.streams or self.anomalies)

    def batch(self) -> Batch:
        return Batch(Signal.TRACES, None, list(self.streams), list(self.anomalies), data=b"",
                     chunks=list(self.chunks))


class Resender:
    """Sends refused `Derived` records again, oldest first, one at a time, with a backoff while refused."""

    def __init__(self, send: Callable[[Batch], Awaitable[None]], lost: Callable[[str, int], None], *,
                 log: logging.Logger, name: str) -> None:
        self.send = send
        self.lost = lost  # (kind, count) given up
        self.log = log
        self.name = name
        self._pending: deque[Derived] = deque()
        self._task: asyncio.Task | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, derived: Derived, error: BaseException) -> None:
        if not derived:
            return
        if isinstance(error, PermanentError):  # sent again, they would be refused again, for ever
            self._lose([derived], f"downstream refused them for good: {error}")
            return
        self.log.warning("downstream refused %d stream records (%s): sending them again", len(derived.streams),
                         error or type(error).__name__)
        self._pending.append(derived)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"{self.name}.resend")

    def hold(self, derived: Derived) -> None:
        """Records whose send was cancelled (shutdown cut short): given up with the others by `give_up`."""
        if derived:
            self._pending.append(derived)

    async def _run(self) -> None:
        delay = FIRST_DELAY
        while self._pending:
            await asyncio.sleep(delay)
            derived = self._pending[0]
            try:
                await self.send(derived.batch())
            except PermanentError as exc:
                if self._pending and self._pending[0] is derived:
                    self._pending.popleft()
                    self._lose([derived], f"downstream refused them for good: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - still refused: wait longer, keep them
                self.log.debug("downstream still refuses %d stream records: %s", len(derived.streams), exc)
                delay = min(delay * 2, MAX_DELAY)
                continue
            if self._pending and self._pending[0] is derived:
                self._pending.popleft()
            delay = FIRST_DELAY

    async def drain(self) -> None:
        """Returns once every refused record was taken. Cancelled (the shutdown's deadline), it gives them up:
        counted and logged."""
        try:
            while self._pending:
                task = self._task
                if task is None or task.done():
                    task = self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                               name=f"{self.name}.resend")
                await asyncio.shield(task)
        except asyncio.CancelledError:
            self.give_up()
            raise

    def give_up(self) -> None:
        """Count and log every record still held as lost (a cancelled send's may have been taken after all)."""
        if self._task is not None:
            self._task.cancel()
        pending, self._pending = list(self._pending), deque()
        if pending:
            self._lose(pending, "shutdown ran out of time")

    def _lose(self, given_up: list[Derived], why: str) -> None:
        streams = sum(len(d.streams) for d in given_up)
        anomalies = sum(len(d.anomalies) for d in given_up)
        if streams:
            self.lost("streams", streams)
        if anomalies:
            self.lost("anomalies", anomalies)
        self.log.error("gave up %d stream records and %d anomalies downstream refused: %s", streams, anomalies, why)
