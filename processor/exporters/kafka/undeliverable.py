"""Records Kafka will never take: what the kafka exporter does with them, so that none is acknowledged and dropped.

- Over `max_message_bytes` (one span too large: spans are not cut): found when the batch is encoded, before anything
  is acknowledged (`set_aside`); not sent, and its spans are refused to the caller by name (`RejectedSpans`, which
  the receiver answers as an OTLP partial success, and the batch processor passes only to the client that sent them).
- Refused for good by the producer or the broker after it was queued (`keep_refused`): without the persistent queue
  its spans are refused to the caller the same way (`rejection`); with it the caller was answered already.
Either way the record is counted in send_failed, kept in the dead-letter file when there is one (and counted there
too), and logged: once per batch for those set aside.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from processor.errors import RejectedSpans
from processor.exporters.exporterhelper.item import items_by_kind
from processor.exporters.kafka.dead_letter import DeadLetter
from processor.exporters.kafka.encode import RecordEncoder
from processor.exporters.kafka.record import OutgoingRecord
from processor.exporters.kafka.sender import RefusedBeforeSending


class Undeliverable:
    def __init__(self, exporter: str, encoder: RecordEncoder, max_message_bytes: int, dead_letter: DeadLetter | None,
                 *, failed: Counter, kept: Counter, log: logging.Logger) -> None:
        self.exporter = exporter
        self.encoder = encoder
        self.max_message_bytes = max_message_bytes
        self.dead_letter = dead_letter
        self.failed = failed
        self.kept = kept
        self.log = log

    async def set_aside(self, records: list[OutgoingRecord]) -> RejectedSpans | None:
        """Records over max_message_bytes, which `fit` could not cut further: not sent; the caller's refusal."""
        limit = self.max_message_bytes
        largest = max(len(record.value) for record in records)
        self._count_failed(records)
        kept = await self.keep(records, f"larger than max_message_bytes ({limit} bytes), and one span (or one "
                                        "stream record) is not split")
        self.log.warning("kafka: %d records (%s) over max_message_bytes (%d bytes; the largest is %d bytes) hold one "
                         "span or record each, which is not split: not sent; %s", len(records),
                         ", ".join(f"{n} {kind}" for kind, n in items_by_kind(records).items()), limit, largest,
                         self._where(kept, len(records)))
        spans = set().union(*(self.encoder.span_keys(record) for record in records))
        if not spans:
            return None
        kept_note = "; kept in the exporter's dead-letter file" if kept and len(kept) == len(records) else ""
        return RejectedSpans(f"kafka: {len(spans)} spans larger than the Kafka record limit (exporters::"
                             f"{self.exporter}::max_message_bytes = {limit} bytes; the largest encodes to {largest} "
                             f"bytes): a span is not split, so it was not sent{kept_note}", spans)

    async def keep_refused(self, record: OutgoingRecord, error: BaseException) -> None:
        """A record refused for good after it was queued: counted, kept if there is a dead-letter file, logged."""
        self._count_failed([record])
        kept = await self.keep([record], who_refused(error))
        self.log.error("kafka: %d %s not delivered to %s: %s; %s", record.items, record.kind, record.topic,
                       who_refused(error), self._where(kept, 1))

    def rejection(self, refused: list[tuple[OutgoingRecord, BaseException]]) -> RejectedSpans | None:
        """What the caller hears of its records refused for good (none of derived records: its spans went)."""
        spans = set().union(*(self.encoder.span_keys(record) for record, _ in refused))
        if not spans:
            return None
        errors = dict.fromkeys(who_refused(error) for _, error in refused)
        return RejectedSpans(f"kafka: {len(spans)} spans not delivered: {'; '.join(errors)}", spans)

    async def keep(self, records: list[OutgoingRecord], reason: str) -> list[OutgoingRecord]:
        """Write `records` to the dead-letter file; those written (none when there is no file, it is full or
        cannot be written) are counted."""
        if self.dead_letter is None:
            return []
        try:
            kept = await self.dead_letter.write(records, reason)
        except OSError as exc:
            self.log.error("kafka: cannot write the dead-letter file %s: %s", self.dead_letter.path, exc)
            return []
        for kind, items in items_by_kind(kept).items():
            self.kept.labels(self.exporter, kind).inc(items)
        return kept

    def _count_failed(self, records: list[OutgoingRecord]) -> None:
        for kind, items in items_by_kind(records).items():
            self.failed.labels(self.exporter, kind).inc(items)

    def _where(self, kept: list[OutgoingRecord], count: int) -> str:
        if self.dead_letter is None:
            return "there is no dead-letter file (set dead_letter.path to keep them)"
        if len(kept) == count:
            return f"kept in the dead-letter file {self.dead_letter.path}"
        return (f"{len(kept)} kept in the dead-letter file {self.dead_letter.path}, the others lost: it is over its "
                f"max_size ({self.dead_letter.max_size} bytes) or cannot be written")


def who_refused(error: BaseException) -> str:
    """The producer's own checks before sending, or the broker."""
    if isinstance(error, RefusedBeforeSending):
        return f"the Kafka producer refused it before sending ({error})"
    return f"the broker refused it ({type(error).__name__}: {error})"
