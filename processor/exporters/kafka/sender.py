"""The loop that takes records from the sending queue and hands them to aiokafka.

It sends many records before any is acknowledged: each `send` returns a delivery future, and a
callback settles the record when the broker answers. A retriable failure puts the record back in
the queue with exponential backoff and jitter; other failures, and a retriable one past
`max_elapsed_time` (in-memory queue only), settle it as failed. The producer is started lazily and
again after a failure, so a broker that is down at start-up delays delivery instead of failing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from aiokafka import AIOKafkaProducer

from processor.exporters.exporterhelper.queue import SendQueue
from processor.exporters.kafka.config import RetryConfig
from processor.exporters.kafka.record import OutgoingRecord
from processor.kafka.client import is_retriable

#: Records taken from the queue per round; aiokafka batches them per partition.
_ROUND = 1000
#: At most one "broker unavailable" warning per this many seconds.
_WARN_EVERY = 10.0


class RefusedBeforeSending(Exception):
    """aiokafka refused a record itself (e.g. MessageSizeTooLargeError): no broker saw it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")


class Sender:
    def __init__(self, queue: SendQueue, producer_kwargs: dict[str, Any], retry: RetryConfig, *,
                 retry_forever: bool, settle: Callable[[OutgoingRecord, BaseException | None, bool], None],
                 on_resend: Callable[[OutgoingRecord], None], log: logging.Logger,
                 explain: Callable[[BaseException], BaseException] = lambda error: error) -> None:
        self.queue = queue
        self.producer_kwargs = producer_kwargs
        self.retry = retry
        self.retry_forever = retry_forever
        self.settle = settle
        self.on_resend = on_resend
        self.explain = explain
        self.log = log
        self.producer: AIOKafkaProducer | None = None
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
        for index, record in enumerate(records):
            if record.attempts:
                self.on_resend(record)
            try:
                future = await producer.send(record.topic, record.value, key=record.key, headers=list(record.headers))
            except Exception as exc:  # noqa: BLE001 - classified by failed()
                if is_retriable(exc):  # the broker is away: the rest of the round would wait as long
                    for pending in records[index:]:
                        self.failed(pending, exc)
                    return
                self.failed(record, RefusedBeforeSending(exc))
                continue
            future.add_done_callback(partial(self._delivered, record))

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
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), timeout)
            except (TimeoutError, Exception) as exc:  # noqa: BLE001 - shutting down either way
                self.log.warning("kafka: producer did not stop cleanly: %s", exc or type(exc).__name__)


async def _quietly_stop(producer: AIOKafkaProducer) -> None:
    with contextlib.suppress(Exception):  # it never started; nothing to flush
        await producer.stop()
