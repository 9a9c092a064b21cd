"""The kafka exporter: spans, stream records and anomalies to three topics, counted only when acknowledged.

When `consume` returns, the batch is safe:
- with `sending_queue.storage`, its records are fsync'd to the on-disk queue (they survive a broker
  outage and a restart; at-least-once, so a topic may hold a record twice, counted in
  `tokenstream_exporter_redelivered_records_total`);
- without it, the broker has acknowledged every record. The in-memory queue only bounds how many
  records are in flight; nothing is acknowledged upstream before the broker acknowledged it, so a
  crash loses nothing that was acknowledged. When the retry deadline passes, `consume` raises
  RetryableError and the receiver asks its client to send again.
A full queue blocks `consume` (backpressure up to the receiver), or with `drop_newest` drops the
batch's records and counts them.

A record Kafka will never take (one span over `max_message_bytes`, a record the broker refuses for good) is never
acknowledged and then dropped: undeliverable.py decides it before anything is acknowledged where it can, refuses
its spans to the caller by name, and keeps the record in the dead-letter file (dead_letter.py).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from processor.component import ComponentBase, CreateSettings
from processor.errors import RejectedSpans, RetryableError
from processor.exporters.exporterhelper.sending import SendingQueue
from processor.exporters.kafka.config import KafkaExporterConfig
from processor.exporters.kafka.dead_letter import DeadLetter
from processor.exporters.kafka.encode import RecordEncoder
from processor.exporters.kafka.record import OutgoingRecord
from processor.exporters.kafka.sender import Sender
from processor.exporters.kafka.undeliverable import Undeliverable
from processor.kafka import embedded
from processor.kafka.client import auth_refusal, check_login
from processor.kafka.partitioner import partition
from processor.kafka.topics import create_topics
from processor.model.batch import Batch
from processor.service.fanout import raise_combined
from processor.service.telemetry import shared_counter


class KafkaExporter(ComponentBase):
    def __init__(self, settings: CreateSettings, config: KafkaExporterConfig) -> None:
        self.config = config
        self.id = str(settings.id)
        self.log: logging.Logger = settings.logger
        telemetry = settings.telemetry
        queue_config = config.sending_queue
        storage = queue_config.storage
        self.sending = SendingQueue(self.id, telemetry, name="kafka", peer="the broker", noun="records",
                                    capacity=queue_config.queue_size, block=queue_config.when_full == "block",
                                    storage=storage.directory if storage is not None else None,
                                    record_type=OutgoingRecord, log=self.log)
        self.encoder = RecordEncoder(config)
        self.kept = shared_counter(telemetry.registry, "tokenstream_exporter_dead_letter_records",
                                   "Records (spans for a spans record, else 1) Kafka will never take, written to the "
                                   "exporter's dead-letter file instead; also counted as send_failed.",
                                   ["exporter", "kind"])
        self.undeliverable: Undeliverable | None = None
        self._keeping: set[asyncio.Task] = set()
        self.sender: Sender | None = None
        self._task: asyncio.Task | None = None
        self._uses_embedded = False
        self.bootstrap: list[str] = []

    async def start(self, host) -> None:
        config = self.config
        if config.uses_embedded():
            self.bootstrap = [await embedded.acquire_shared(self.log)]
            self._uses_embedded = True
        else:
            self.bootstrap = list(config.brokers)
        client_kwargs = config.client_kwargs(self.bootstrap)
        await check_login(config, self.bootstrap, f"exporters::{self.id}", min(config.request_timeout, 10.0))
        if config.create_topics is not None:
            await self._create_topics(client_kwargs)
        queue_directory = self.sending.directory
        dead_letter = None
        if config.dead_letter is not None or queue_directory is not None:
            path = Path(config.dead_letter.path) if config.dead_letter else queue_directory / "dead-letter.jsonl"
            limit = config.dead_letter.max_size if config.dead_letter else 1 << 30
            dead_letter = DeadLetter(path, max_size=limit, exporter=self.id)
            await asyncio.to_thread(dead_letter.open)
        self.undeliverable = Undeliverable(self.id, self.encoder, config.max_message_bytes, dead_letter,
                                           failed=self.sending.failed, kept=self.kept, log=self.log)
        await self.sending.open()
        self.sender = Sender(self.sending.queue, self._producer_kwargs(client_kwargs), config.retry,
                             retry_forever=self.sending.disk is not None, explain=self._explain,
                             settle=self._settle, acknowledged=self._acknowledged, on_resend=self.sending.resent,
                             log=self.log)
        self._task = asyncio.create_task(self.sender.run(), name=f"kafka sender {self.id}")
        self.log.info("kafka exporter sending to %s (%s; %s)", ",".join(self.bootstrap),
                      "persistent queue" if self.sending.disk else "in-memory queue",
                      f"dead-letter file {dead_letter.path}" if dead_letter else "no dead-letter file")

    def _explain(self, error: BaseException) -> BaseException:
        """A producer's start failure, said plainly when it is the broker refusing our credentials."""
        return auth_refusal(error, self.config.sasl, f"exporters::{self.id}::sasl") or error

    def _producer_kwargs(self, client_kwargs: dict) -> dict:
        config = self.config
        return {
            **client_kwargs,
            "acks": -1 if config.acks == "all" else config.acks,
            "compression_type": None if config.compression == "none" else config.compression,
            "linger_ms": int(config.linger * 1000),
            "max_batch_size": config.max_batch_size,
            # A record of max_message_bytes must pass aiokafka's own size check.
            "max_request_size": max(config.max_message_bytes, config.max_batch_size) + 4096,
            "request_timeout_ms": max(1, int(config.request_timeout * 1000)),
            "enable_idempotence": False,  # the embedded broker (tansu) has no idempotent producer
            "partitioner": partition,  # aiokafka's, without its byte-by-byte murmur2 loop
        }

    async def _create_topics(self, client_kwargs: dict) -> None:
        names = self.config.topics
        topics = [t for t in (names.spans, names.streams, names.anomalies, names.trace_costs) if t]
        settings = self.config.create_topics
        try:
            await asyncio.wait_for(create_topics(client_kwargs, topics, partitions=settings.partitions,
                                                 replication_factor=settings.replication_factor, log=self.log),
                                   self.config.request_timeout)
        except Exception as exc:  # noqa: BLE001 - the broker may be down now; records wait in the queue
            self.log.warning("kafka: could not create topics %s: %s", topics, exc or type(exc).__name__)

    async def consume(self, batch: Batch) -> None:
        if self.sender is None:
            raise RetryableError("kafka exporter is not running")
        records = self.encoder.records(batch)
        too_large = self.encoder.too_large(records)
        rejections: list[BaseException] = []
        if too_large:  # decided before anything is acknowledged: the caller hears which of its spans were refused
            records = [record for record in records if self.encoder.fits(record)]
            rejections.append(await self.undeliverable.set_aside(too_large))
        if records:
            try:
                await self._send(batch, records)
            except RejectedSpans as exc:
                rejections.append(exc)
        raise_combined([rejection for rejection in rejections if rejection is not None])

    async def _send(self, batch: Batch, records: list[OutgoingRecord]) -> None:
        delivery = await self.sending.send(records)
        if delivery is None:
            return
        self.sending.acknowledged(batch)
        if (rejection := self.undeliverable.rejection(delivery.refused)) is not None:
            raise rejection

    def _settle(self, record: OutgoingRecord, error: BaseException | None, retryable: bool) -> None:
        """`record` leaves the queue: acknowledged (error None), past the retry deadline, or refused for good."""
        if error is None:
            self.sending.delivered(record, record.items)
        elif retryable:
            self.sending.failed.labels(self.id, record.kind).inc(record.items)
            self.log.error("kafka: %d %s not delivered to %s: %s: %s", record.items, record.kind, record.topic,
                           type(error).__name__, error)
        else:
            task = asyncio.get_running_loop().create_task(self._refused_for_good(record, error))
            self._keeping.add(task)
            task.add_done_callback(self._keeping.discard)
            return
        self.sending.finish(record, error, retryable=retryable, segment=record.segment)

    def _acknowledged(self, records: list[OutgoingRecord]) -> None:
        """A batch the broker acknowledged: `_settle(record, None, False)` for each, the counters touched once."""
        self.sending.delivered_all(records)

    async def _refused_for_good(self, record: OutgoingRecord, error: BaseException) -> None:
        """Such a record leaves the queue (and the disk) only once the dead-letter file holds it."""
        try:
            await self.undeliverable.keep_refused(record, error)
        finally:
            self.sending.finish(record, error, retryable=False, segment=record.segment)

    async def shutdown(self) -> None:
        try:
            if self._task is not None:
                await self._drain()
        finally:
            self.sending.close()
            if self._uses_embedded:
                self._uses_embedded = False
                await embedded.release_shared()

    async def _drain(self) -> None:
        flushed = await self.sending.stop(self._task, self.config.flush_timeout)
        self._task = None
        await self.sender.close(timeout=5.0 if flushed else 1.0)
        if self._keeping:  # records refused for good on their way to the dead-letter file
            await asyncio.gather(*self._keeping, return_exceptions=True)
        queue = self.sending.queue
        left = queue.unsent()
        if left or queue.size:
            self.log.warning("kafka: %d records not acknowledged by the broker at shutdown; %s", queue.size,
                             self.sending.left_behind())
        if self.sending.disk is None:
            for record in left:
                self._settle(record, RetryableError("kafka exporter shut down"), True)
        self.sender = None
