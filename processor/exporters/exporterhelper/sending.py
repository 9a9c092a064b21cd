"""An exporter's sending queue: how the kafka and otlp exporters hold what they make of a batch until it is settled.

`send` reserves room in the bounded queue (a full one blocks, or with `drop_newest` drops and counts), then writes
the items to the on-disk log when the queue is persistent (they are safe once fsync'd), or else ties them to one
Delivery and waits until the peer has answered for each. The exporter's sender takes them from `queue`; each leaves
through `finish`, which frees its place on disk and tells its Delivery. `stop` and `left_behind` are the shutdown.
Log lines and errors start with `name` ("kafka", or the otlp exporter's id), as the exporters' own do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from processor.errors import RetryableError
from processor.exporters.exporterhelper.disklog import DiskLog
from processor.exporters.exporterhelper.item import Queued, items_by_kind
from processor.exporters.exporterhelper.metrics import receipt_to_ack_histogram, redelivered_counter
from processor.exporters.exporterhelper.queue import Delivery, SendQueue
from processor.model.batch import Batch
from processor.service.telemetry import observe_many


class SendingQueue:
    def __init__(self, exporter: str, telemetry, *, name: str, peer: str, noun: str, capacity: int, block: bool,
                 storage: str | None, record_type: type, log: logging.Logger) -> None:
        self.exporter = exporter
        self.name = name
        self.peer = peer
        self.noun = noun  # what the log calls the queued items: records or requests
        self.log = log
        self.sent, self.failed, self.dropped = telemetry.exporter_sent, telemetry.exporter_failed, \
            telemetry.exporter_dropped
        self.latency = telemetry.export_latency.labels(exporter)
        self.redelivered = redelivered_counter(telemetry.registry)
        self.receipt_to_ack = receipt_to_ack_histogram(telemetry.registry).labels(exporter)
        self.capacity = capacity
        self.capacity_gauge = telemetry.queue_capacity.labels(exporter)
        self.queue = SendQueue(capacity, block=block, on_size=telemetry.queue_size.labels(exporter).set,
                               name=f"{name} exporter")
        #: The persistent queue's own directory (one per exporter under `storage`), None for an in-memory queue.
        self.directory = Path(storage) / exporter.replace("/", "_") if storage is not None else None
        self.record_type = record_type
        self.disk: DiskLog | None = None
        #: The sent counter's child per item kind: `labels()` takes a lock and a lookup, once per record otherwise.
        self._sent_of: dict[str, Any] = {}

    async def open(self) -> None:
        """Opens the on-disk log, if any, and queues what a previous run left in it (counted as sent again)."""
        if self.directory is not None:
            self.disk = DiskLog(self.directory, log=self.log, record_type=self.record_type)
            recovered = await asyncio.to_thread(self.disk.open)
            if recovered:
                self.log.info("%s: re-sending %d %s left in the queue at %s", self.name, len(recovered), self.noun,
                              self.disk.directory)
                for item in recovered:
                    self.resent(item)
                self.queue.add_recovered(len(recovered))
                self.queue.put(recovered)
        self.capacity_gauge.set(self.capacity)

    async def send(self, items: list[Queued]) -> Delivery | None:
        """Queue `items`; returns once they are safe: None when they are on disk (or dropped, the queue being full),
        else their Delivery once the peer answered for each (its `refused` for the exporter to word). Raises
        RetryableError past the retry deadline, when the on-disk log cannot be written, or once shutting down."""
        if not await self.queue.reserve(len(items)):
            for kind, count in items_by_kind(items).items():
                self.dropped.labels(self.exporter, kind).inc(count)
            return None
        delivery = None
        try:
            now = time.monotonic()
            if self.disk is not None:
                for item in items:  # handed over now, unless the exporter said earlier
                    if item.enqueued_at is None:
                        item.enqueued_at = now
                await self.disk.append(items)
            else:
                delivery = Delivery(len(items), name=self.name, peer=self.peer)
                for item in items:
                    if item.enqueued_at is None:
                        item.enqueued_at = now
                    item.delivery = delivery
        except BaseException as exc:
            self.queue.finish(len(items))
            if isinstance(exc, OSError):
                raise RetryableError(f"{self.name}: cannot write the on-disk queue: {exc}") from exc
            raise
        self.queue.put(items)
        if delivery is not None:
            await delivery.wait()
        return delivery

    def acknowledged(self, batch: Batch) -> None:
        """The peer took everything made from `batch`: from each request's receipt to now."""
        acked = time.monotonic_ns()
        for received in batch.received_ns:
            self.receipt_to_ack.observe((acked - received) / 1e9)

    def delivered(self, item: Queued, count: int) -> None:
        """The peer took `count` of `item`'s items."""
        sent = self._sent_of.get(item.kind)
        if sent is None:
            sent = self._sent_of[item.kind] = self.sent.labels(self.exporter, item.kind)
        sent.inc(count)
        if item.enqueued_at is not None:
            self.latency.observe(time.monotonic() - item.enqueued_at)

    def delivered_all(self, items: list[Queued]) -> None:
        """`delivered` and `finish` (no error) for every item of a batch the peer took, counted once per kind.

        Items of one `send` sit side by side in a batch and share their kind, hand-over time and Delivery: each
        such run is counted, observed and settled once."""
        now = time.monotonic()
        if (disk := self.disk) is not None:
            for item in items:
                if item.segment is not None:
                    disk.release(item.segment)
        counts: dict[str, int] = {}
        handed_over: dict[float, int] = {}  # items handed over in one `send` share their time: one observe each
        kind = enqueued_at = delivery = None
        start = total = 0
        for index, item in enumerate(items):
            if item.kind is not kind or item.enqueued_at is not enqueued_at or item.delivery is not delivery:
                if index:
                    _tally(counts, handed_over, kind, total, enqueued_at, delivery, index - start)
                kind, enqueued_at, delivery = item.kind, item.enqueued_at, item.delivery
                start, total = index, 0
            total += item.items
        if items:
            _tally(counts, handed_over, kind, total, enqueued_at, delivery, len(items) - start)
        for enqueued_at, count in handed_over.items():
            observe_many(self.latency, now - enqueued_at, count)
        for kind, count in counts.items():
            sent = self._sent_of.get(kind)
            if sent is None:
                sent = self._sent_of[kind] = self.sent.labels(self.exporter, kind)
            sent.inc(count)
        self.queue.finish(len(items))

    def resent(self, item: Queued) -> None:
        self.redelivered.labels(self.exporter, item.kind).inc(item.items)

    def finish(self, item: Queued, error: BaseException | None, *, retryable: bool, segment: int | None) -> None:
        """`item` leaves the queue (taken, or failed: `error`); `segment` is its place on disk to free, if any."""
        if segment is not None and self.disk is not None:
            self.disk.release(segment)
        if isinstance(item.delivery, Delivery):
            item.delivery.settle(item, error, retryable=retryable)
        self.queue.finish()

    async def stop(self, sender: asyncio.Task, timeout: float) -> bool:
        """Takes nothing new, waits up to `timeout` for the queue to empty, then stops `sender`; whether it emptied."""
        self.queue.close()
        flushed = await self.queue.wait_empty(timeout)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        return flushed

    def left_behind(self) -> str:
        """What becomes of items not delivered at shutdown."""
        return "they stay in the on-disk queue and are sent on the next start" if self.disk else "they are lost"

    def close(self) -> None:
        if self.disk is not None:
            self.disk.close()


def _tally(counts: dict[str, int], handed_over: dict[float, int], kind: str, items: int, enqueued_at: float | None,
           delivery: object | None, count: int) -> None:
    """A run of `count` delivered items sharing `kind`, `enqueued_at` and `delivery` (`items` of that kind)."""
    counts[kind] = counts.get(kind, 0) + items
    if enqueued_at is not None:
        handed_over[enqueued_at] = handed_over.get(enqueued_at, 0) + count
    if isinstance(delivery, Delivery):
        delivery.settled(count)
