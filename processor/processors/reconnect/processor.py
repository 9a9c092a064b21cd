"""reconnect: a new stream in the same session within `reconnect_window` after an aborted or truncated one
is a reconnect; the later record gets `reconnect_of` (the earlier span id).

The prometheus exporter counts records with `reconnect_of` as `llm_stream_reconnects_total`. A retry of the
broken stream itself (`partial_attempt_span_id`, from the stream processor's retries section) is a retry, not a
reconnect. Times are the records' own. State is one broken stream per session, bounded by `max_sessions`
(evictions are counted).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.model.batch import Batch
from processor.model.records import StreamRecord
from processor.processors.reconnect.config import ReconnectConfig
from processor.processors.reconnect.telemetry import eviction_counter

BROKEN = frozenset({"aborted", "truncated"})


@dataclass(slots=True, frozen=True)
class _Broken:
    span_id: bytes
    ended: int  # unix ns


class ReconnectProcessor(ComponentBase):
    #: Sets `reconnect_of` on records.
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: ReconnectConfig, next_consumer: Consumer) -> None:
        self.next = next_consumer
        self.window_ns = int(config.reconnect_window * 1e9)
        self.max_sessions = config.max_sessions
        self.evicted = eviction_counter(settings.telemetry.registry).labels(str(settings.id))
        self.broken: OrderedDict[str, _Broken] = OrderedDict()  # session -> its last broken stream

    async def consume(self, batch: Batch) -> None:
        if batch.streams:
            for record in sorted(batch.streams, key=_start):
                if record.HasField("session_id") and record.session_id:
                    self._see(record.session_id, record)
        await self.next.consume(batch)

    def _see(self, session: str, record: StreamRecord) -> None:
        start = _start(record)
        earlier = self.broken.get(session)
        if earlier is not None and earlier.span_id != record.span_id and self._reconnects(earlier, record, start):
            record.reconnect_of = earlier.span_id
            del self.broken[session]
        if record.HasField("outcome") and record.outcome in BROKEN:
            self.broken[session] = _Broken(record.span_id, _end(record))
            self.broken.move_to_end(session)
            while len(self.broken) > self.max_sessions:
                _, dropped = self.broken.popitem(last=False)
                if dropped.ended + self.window_ns >= start:  # still within its window: a real loss
                    self.evicted.inc()

    def _reconnects(self, earlier: _Broken, record: StreamRecord, start: int) -> bool:
        if record.partial_attempt_span_id == earlier.span_id:
            return False  # the retries section's retry of the partial stream
        return 0 <= start - earlier.ended <= self.window_ns


def _start(record: StreamRecord) -> int:
    return record.start_time_unix_nano if record.HasField("start_time_unix_nano") else 0


def _end(record: StreamRecord) -> int:
    for field in ("end_time_unix_nano", "last_chunk_time_unix_nano", "start_time_unix_nano"):
        if record.HasField(field):
            return getattr(record, field)
    return 0
