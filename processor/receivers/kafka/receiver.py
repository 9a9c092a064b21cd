"""The kafka receiver: reads OTLP trace requests from a topic as one member of a consumer group.

Each poll (up to `max_poll_records`) becomes one batch handed to the pipeline; its offsets are committed
only once `consume` returned, i.e. once downstream (the exporters) took the records: at-least-once, a
crash re-delivers what was not committed. When downstream refuses for now (RetryableError) the receiver
pauses its partitions, backs off and sends the same records again, still polling so it stays in the
group. Records it cannot decode, and batches downstream refuses for good (PermanentError), are logged,
counted as refused and committed past: they would fail the same way forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.errors import PermanentError, RetryableError
from processor.kafka import embedded
from processor.kafka.client import check_login
from processor.receivers.kafka.config import KafkaReceiverConfig
from processor.receivers.kafka.polled import PolledBatch, Records, undecodable_counter
from processor.receivers.kafka.rebalance import RevokeFlushes
from processor.wire.claims import NO_MEMBERS, ClaimsSet

_TRANSPORT = "kafka"
_POLL_MS = 500


class KafkaReceiver(ComponentBase):
    def __init__(self, settings: CreateSettings, config: KafkaReceiverConfig, next_consumer: Consumer) -> None:
        self.id = settings.id
        self.config = config
        self.next = next_consumer
        #: What the pipelines' processors read spans with (the graph's SignalRouter says): records are scanned with it.
        self.span_claims: ClaimsSet = getattr(next_consumer, "span_claims", NO_MEMBERS)
        self.log: logging.Logger = settings.logger
        telemetry = settings.telemetry
        self.accepted = telemetry.receiver_accepted.labels(str(self.id), _TRANSPORT)
        self.refused = telemetry.receiver_refused.labels(str(self.id), _TRANSPORT)
        self.undecodable = undecodable_counter(telemetry.registry).labels(str(self.id))
        #: Bumped when partitions are revoked (and at shutdown): batches of an older generation are dropped
        #: uncommitted, and a batch being retried is abandoned; whoever owns the partitions next reads them.
        self.generation = 0
        self.consumer: AIOKafkaConsumer | None = None
        self.host = None
        self._busy = asyncio.Lock()  # held while a batch is delivered and committed
        self._carry: tuple[Records, int] | None = None  # polled while backing off, delivered next
        self._task: asyncio.Task | None = None
        self._uses_embedded = False
        self._stopping = False

    async def start(self, host) -> None:
        self.host = host
        config = self.config
        if config.uses_embedded():
            bootstrap = [await embedded.acquire_shared(self.log)]
            self._uses_embedded = True
        else:
            bootstrap = list(config.brokers)
        await check_login(config, bootstrap, f"receivers::{self.id}", 10.0)
        self.consumer = AIOKafkaConsumer(
            **config.client_kwargs(bootstrap), group_id=config.group_id, enable_auto_commit=False,
            auto_offset_reset=config.initial_offset, max_poll_records=config.max_poll_records,
            session_timeout_ms=int(config.session_timeout * 1000),
            heartbeat_interval_ms=int(config.heartbeat_interval * 1000))
        self.consumer.subscribe([config.topic], listener=RevokeFlushes(self))
        await self.consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"kafka receiver {self.id}")
        self.log.info("kafka receiver reading %s from %s as group %s", config.topic, ",".join(bootstrap),
                      config.group_id)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                records, generation = self._carry or (await self._poll(), self.generation)
                self._carry = None
                if not records:
                    continue
                async with self._busy:
                    if generation == self.generation and not self._stopping:  # else the next owner reads them
                        await self._deliver(PolledBatch(records, generation, self.config.encoding,
                                                        self._skip_undecodable, self.span_claims))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep reading; aiokafka errors are mostly transient
                self.log.exception("kafka: reading %s failed; trying again in 1s", self.config.topic)
                await asyncio.sleep(1.0)

    async def _poll(self, timeout_ms: int = _POLL_MS) -> Records:
        return await self.consumer.getmany(timeout_ms=timeout_ms, max_records=self.config.max_poll_records)

    async def _deliver(self, polled: PolledBatch) -> None:
        delay = 0.0
        while polled.span_count:
            try:
                await self.next.consume(polled.batch())
            except PermanentError as exc:
                self.refused.inc(polled.span_count)
                self.log.error("kafka: downstream refused %d spans for good, skipping them: %s", polled.span_count,
                               exc)
                break
            except Exception as exc:  # noqa: BLE001 - RetryableError, or anything else that may pass later
                delay = self._next_delay(delay, exc)
                self.log.warning("kafka: downstream did not take %d spans (%s); trying again in %.1fs",
                                 polled.span_count, exc, delay, exc_info=not isinstance(exc, RetryableError))
                if not await self._back_off(delay, polled.generation):
                    self.log.info("kafka: partitions revoked or stopping: %d spans left uncommitted for the next "
                                  "owner", polled.span_count)
                    return
            else:
                self.accepted.inc(polled.span_count)
                break
        await self._commit(polled)

    def _next_delay(self, delay: float, exc: Exception) -> float:
        backoff = self.config.backoff
        delay = min(backoff.max_interval, delay * backoff.multiplier if delay else backoff.initial_interval)
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        return max(delay, min(retry_after or 0.0, backoff.max_interval))

    async def _back_off(self, delay: float, generation: int) -> bool:
        """Wait `delay` with fetching paused, still polling to stay in the group. False when abandoned."""
        consumer = self.consumer
        consumer.pause(*consumer.assignment())
        clock = asyncio.get_running_loop().time
        deadline = clock() + delay
        try:
            while generation == self.generation and clock() < deadline:
                more = await self._poll(max(1, int(min(deadline - clock(), _POLL_MS / 1000) * 1000)))
                if more:  # only after a rebalance reset the pause; delivered after this batch
                    self._stash(more, self.generation)
        finally:
            consumer.resume(*(tp for tp in consumer.paused() if tp in consumer.assignment()))
        return generation == self.generation

    def _stash(self, records: Records, generation: int) -> None:
        if self._carry is not None and self._carry[1] == generation:
            for tp, batch in records.items():
                self._carry[0].setdefault(tp, []).extend(batch)
        else:
            self._carry = (dict(records), generation)

    async def _commit(self, polled: PolledBatch) -> None:
        owned = self.consumer.assignment()
        offsets = {tp: offset for tp, offset in polled.offsets.items() if tp in owned}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:  # e.g. the group rebalanced: the next owner reads them again (at-least-once)
            self.log.warning("kafka: could not commit offsets %s: %s; those records will be delivered again",
                             {f"{tp.topic}[{tp.partition}]": o for tp, o in offsets.items()}, exc)

    def _skip_undecodable(self, bad) -> None:
        self.undecodable.inc(len(bad))
        record, reason = bad[0]
        self.log.warning("kafka: skipping %d records that are not OTLP trace requests; the first, %s[%d] at "
                         "offset %d: %s", len(bad), record.topic, record.partition, record.offset, reason)

    async def settle_and_flush(self, why: str) -> None:
        """Let the batch in flight finish (or be abandoned), then flush the pipelines this receiver feeds."""
        try:
            await asyncio.wait_for(self._busy.acquire(), self.config.session_timeout)
            acquired = True
        except TimeoutError:
            acquired = False
            self.log.warning("kafka: a batch is still in flight after %ss (%s); it stays uncommitted",
                             self.config.session_timeout, why)
        try:
            flush = getattr(self.host, "flush_pipelines", None)
            if flush is not None:
                await flush(self.id)
        except Exception as exc:  # noqa: BLE001 - a rebalance must go on; say what was not flushed
            self.log.error("kafka: flushing the pipelines failed (%s): %s", why, exc)
        finally:
            if acquired:
                self._busy.release()

    async def shutdown(self) -> None:
        try:
            if self._task is not None:
                self._stopping = True
                self.generation += 1  # abandon a batch being retried; what is in flight may finish
                task, self._task = self._task, None
                await self.settle_and_flush("shutting down")  # before leaving the group, as on revocation
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.consumer is not None:
                consumer, self.consumer = self.consumer, None
                await consumer.stop()
        finally:
            if self._uses_embedded:
                self._uses_embedded = False
                await embedded.release_shared()
