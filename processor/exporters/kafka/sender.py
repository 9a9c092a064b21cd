"""The loop that takes records from the sending queue and hands them to aiokafka, a batch per partition.

It sends many records before any is acknowledged. Records are appended to one open batch per topic and
partition (aiokafka's batch API: one delivery future per batch, not one per record as `send` makes); the batch is
handed to the producer when it is started, lingers there for `linger` as `send`'s batches do, and takes the records
of later rounds until it is full or the producer takes it. When the broker answers, a callback settles every record
in it. The partition is the one `send` would choose: the configured partitioner given the key and the topic's
partitions from the producer's metadata. With the default partitioner, a run of first attempts (one record per
trace on plain traffic) is grouped by partition and appended in compiled loops (processor/kafka/route.py), no Python
call per record; a retried, keyless or large record, or another partitioner, takes the per-record path.
A retriable failure puts the record back in the queue with exponential backoff and jitter; other failures, and a
retriable one past `max_elapsed_time` (in-memory queue only), settle it as failed. The producer is started lazily
and again after a failure, so a broker that is down at start-up delays delivery instead of failing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from processor.exporters.exporterhelper.queue import SendQueue
from processor.exporters.kafka.config import RetryConfig
from processor.exporters.kafka.record import OutgoingRecord
from processor.kafka.client import is_retriable
from processor.kafka.partitioner import partition
from processor.kafka.route import append, route

#: Records taken from the queue per round.
_ROUND = 1000
#: Bytes of key, headers and framing a record's value may be short of max_request_size without being measured.
_HEADROOM = 4096
#: At most one "broker unavailable" warning per this many seconds.
_WARN_EVERY = 10.0
#: aiokafka's default, when the producer is given none.
_MAX_REQUEST_SIZE = 1048576


class RefusedBeforeSending(Exception):
    """aiokafka refused a record itself (e.g. MessageSizeTooLargeError): no broker saw it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")


class _Batch:
    """One partition's open batch, handed to the producer: the records in it are settled by its one future.

    Records may join it after it was handed over, as `send` adds them to its own open batch: the producer builds
    a batch's bytes (and closes it) only when it takes it for a request, so a record appended is in what the broker
    acknowledges, and an append to a closed batch is refused.
    """

    __slots__ = ("builder", "records", "future")

    def __init__(self, builder: BatchBuilder, record: OutgoingRecord, headers: list, timestamp: int | None) -> None:
        self.builder = builder
        # An empty batch takes any record (the size check is _check_size's).
        builder.append(timestamp=timestamp, key=record.key, value=record.value, headers=headers)
        self.records = [record]
        self.future: asyncio.Future | None = None

    def add(self, record: OutgoingRecord, headers: list) -> bool:
        """False when the batch is full, or the producer took it (it is closed once built) or settled it."""
        return self.extend([record], 0, headers, None) == 1

    def extend(self, records: list[OutgoingRecord], start: int, headers: list, timestamp: int | None) -> int:
        """Appends records[start:] until the batch is full, the producer took it or settled it; how many it took.
        Their timestamp (ms): `timestamp`, or the time of each append when None."""
        if self.future.done():
            return 0
        taken = append(self.builder, records, start, headers, timestamp)
        self.records += records[start:start + taken]
        return taken


class Sender:
    def __init__(self, queue: SendQueue, producer_kwargs: dict[str, Any], retry: RetryConfig, *,
                 retry_forever: bool, settle: Callable[[OutgoingRecord, BaseException | None, bool], None],
                 on_resend: Callable[[OutgoingRecord], None], log: logging.Logger,
                 acknowledged: Callable[[list[OutgoingRecord]], None] | None = None,
                 explain: Callable[[BaseException], BaseException] = lambda error: error) -> None:
        self.queue = queue
        self.producer_kwargs = producer_kwargs
        self.retry = retry
        self.retry_forever = retry_forever
        self.settle = settle
        #: Settles a whole acknowledged batch at once (counters and the queue touched once, not per record).
        self.acknowledged = acknowledged or (lambda records: [settle(record, None, False) for record in records])
        self.on_resend = on_resend
        self.explain = explain
        self.log = log
        self.producer: AIOKafkaProducer | None = None
        #: What `send` would do: the producer's partitioner, and its size check before a record is batched.
        self.partitioner = producer_kwargs.get("partitioner", partition)
        self.max_request_size = producer_kwargs.get("max_request_size", _MAX_REQUEST_SIZE)
        self._open: dict[tuple[str, int], _Batch] = {}
        self._last_warning = 0.0

    async def run(self) -> None:
        while True:
            records = await self.queue.take(_ROUND)
            producer = await self._producer(records)
            if producer is not None:
                await self._send(producer, records)

    async def _producer(self, records: list[OutgoingRecord]) -> AIOKafkaProducer | None:
        if self.producer is not None:
            return self.producer
        producer = AIOKafkaProducer(**self.producer_kwargs)
        try:
            await producer.start()
        except Exception as exc:  # noqa: BLE001 - any start failure: retry later, the records wait
            await _quietly_stop(producer)
            error = self.explain(exc)
            for record in records:
                self.failed(record, error)
            return None
        self.producer = producer
        return producer

    async def _send(self, producer: AIOKafkaProducer, records: list[OutgoingRecord]) -> None:
        layouts: dict[str, tuple[list[int], list[int]]] = {}  # a topic's partitions, for this round
        # Records of one kind share one headers tuple: its list form and its size are made once per round.
        headers_of: dict[tuple, tuple[list, int]] = {}
        # The default partitioner's choice is made for a run of records at once (route.py); another, per record.
        routed = self.partitioner is partition
        limit = self.max_request_size - _HEADROOM
        index = 0
        while index < len(records):
            record = records[index]
            topic = record.topic
            if (known := headers_of.get(record.headers)) is None:
                known = headers_of[record.headers] = (list(record.headers), _headers_size(record.headers))
            headers, headers_size = known
            try:
                if (layout := layouts.get(topic)) is None:
                    layout = layouts[topic] = await _layout(producer, topic)
                if routed and headers_size < _HEADROOM // 4:
                    stop, groups = route(records, index, topic, record.headers, limit, _HEADROOM // 4, layout[0])
                    if stop > index:
                        unplaced = await self._place(producer, topic, groups, headers)
                        if unplaced is not None:  # the broker is away: the rest of the round would wait as long
                            error, pending = unplaced
                            for record in pending + records[stop:]:
                                self.failed(record, error)
                            return
                        index = stop
                        continue
                if record.attempts:
                    self.on_resend(record)
                if len(record.value) >= limit or len(record.key or b"") >= _HEADROOM // 4 \
                        or headers_size >= _HEADROOM // 4:
                    self._check_size(record, headers)
                where = (topic, self.partitioner(record.key, *layout))
                batch = self._open.get(where)
                if batch is None or not batch.add(record, headers):
                    self._open[where] = await self._start_batch(producer, where, record, headers)
            except Exception as exc:  # noqa: BLE001 - classified by failed()
                if is_retriable(exc):  # the broker is away: the rest of the round would wait as long
                    for pending in records[index:]:
                        self.failed(pending, exc)
                    return
                self.failed(record, RefusedBeforeSending(exc))
            index += 1

    async def _place(self, producer: AIOKafkaProducer, topic: str, groups: dict[int, list[OutgoingRecord]],
                     headers: list) -> tuple[BaseException, list[OutgoingRecord]] | None:
        """Each partition's records appended to its open batch, and to new ones as they fill up. A retriable failure
        to start a batch returns it with the records not placed (in order); any other fails the record refused."""
        opened = self._open
        timestamp = int(time.time() * 1000)  # what each append would read from the clock, read once
        remaining = list(groups.items())
        for position, (partition_, group) in enumerate(remaining):
            where = (topic, partition_)
            at = 0
            while at < len(group):
                batch = opened.get(where)
                if batch is not None:
                    at += batch.extend(group, at, headers, timestamp)
                    if at == len(group):
                        break
                try:
                    opened[where] = await self._start_batch(producer, where, group[at], headers, timestamp)
                except Exception as exc:  # noqa: BLE001 - classified as _send's
                    if is_retriable(exc):
                        return exc, group[at:] + [r for _, later in remaining[position + 1:] for r in later]
                    self.failed(group[at], RefusedBeforeSending(exc))
                at += 1
                timestamp = int(time.time() * 1000)  # starting a batch may have waited for the partition's last
        return None

    def _check_size(self, record: OutgoingRecord, headers: list) -> None:
        """aiokafka's `send` refuses a record over max_request_size; a batch would take it as its first."""
        if len(record.value) + _HEADROOM < self.max_request_size and len(record.key or b"") < _HEADROOM // 4 \
                and _headers_size(headers) < _HEADROOM // 4:
            return  # far below the limit whatever the framing: no need to compute it
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(record.key, record.value, headers)
        if size > self.max_request_size:
            raise MessageSizeTooLargeError(
                f"The message is {size} bytes when serialized which is larger than the maximum request size you "
                "have configured with the max_request_size configuration")

    async def _start_batch(self, producer: AIOKafkaProducer, where: tuple[str, int], record: OutgoingRecord,
                           headers: list, timestamp: int | None = None) -> _Batch:
        """A new batch holding `record`, handed to the producer (which waits while the partition's previous batch,
        full, is still waiting to be sent)."""
        batch = _Batch(producer.create_batch(), record, headers, timestamp)
        topic, partition_ = where
        batch.future = await producer.send_batch(batch.builder, topic, partition=partition_)
        batch.future.add_done_callback(lambda future: self._batch_done(batch, future))
        return batch

    def _batch_done(self, batch: _Batch, future: asyncio.Future) -> None:
        batch.builder.close()  # settled: no record may join it now
        records, batch.records = batch.records, []  # the partition's last batch stays open in _open: not them
        if not future.cancelled() and future.exception() is None:
            self.acknowledged(records)
            return
        for record in records:
            self._delivered(record, future)

    def _delivered(self, record: OutgoingRecord, future: asyncio.Future) -> None:
        if future.cancelled():
            self.failed(record, TimeoutError("send cancelled"))
        elif future.exception() is not None:
            self.failed(record, future.exception())
        else:
            self.settle(record, None, False)

    def failed(self, record: OutgoingRecord, error: BaseException) -> None:
        """Retry `record` later, or settle it as failed when retrying cannot or may no longer help."""
        if not is_retriable(error):
            self.settle(record, error, False)
            return
        now = time.monotonic()
        record.attempts += 1
        if record.first_failure is None:
            record.first_failure = now
        deadline = self.retry.max_elapsed_time
        if not self.retry_forever and deadline and now - record.first_failure >= deadline:
            self.settle(record, error, True)
            return
        self.queue.retry(record, self.retry.backoff(record.attempts))
        if now - self._last_warning >= _WARN_EVERY:
            self._last_warning = now
            self.log.warning("kafka: cannot deliver to %s (%s: %s); retrying, %d records queued", record.topic,
                             type(error).__name__, error, self.queue.size)

    async def close(self, timeout: float) -> None:
        """Stop the producer, flushing what it holds for up to `timeout` seconds."""
        producer, self.producer = self.producer, None
        self._open.clear()  # stop() flushes them; their callbacks settle their records
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout)
            except (TimeoutError, Exception) as exc:  # noqa: BLE001 - shutting down either way
                self.log.warning("kafka: producer did not stop cleanly: %s", exc or type(exc).__name__)


def _headers_size(headers) -> int:
    return sum(len(name) + len(value) for name, value in headers)


async def _quietly_stop(producer: AIOKafkaProducer) -> None:
    with contextlib.suppress(Exception):  # it never started; nothing to flush
        await producer.stop()


async def _layout(producer: AIOKafkaProducer, topic: str) -> tuple[list[int], list[int]]:
    """The partitioner's arguments for `topic`, as `send` gives them: all its partitions and those with a leader
    (waiting for the topic's metadata first)."""
    partitions = list(await producer.partitions_for(topic))
    return partitions, list(producer.client.cluster.available_partitions_for_topic(topic) or ())
