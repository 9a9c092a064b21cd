"""The otlp and otlphttp exporters: traces, logs and metrics to an OTLP backend, counted when it has answered.

When `consume` returns, the batch is safe, as with the kafka exporter (and with its queue classes):
- with `sending_queue.storage`, its requests are fsync'd to the on-disk queue; they are sent until the backend
  takes them, across restarts (at-least-once: re-sent requests are counted in
  `tokenstream_exporter_redelivered_records_total`);
- without it, the backend has answered every request: nothing is acknowledged upstream before. Past the retry
  deadline `consume` raises RetryableError and the receiver asks its client to send again; a request the backend
  refused for good raises PermanentError.
A full queue blocks `consume` (backpressure up to the receiver), or with `drop_newest` drops the batch and counts it.
The transport (gRPC or HTTP) only sends one encoded request and says what the answer means (outcome.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from processor.component import ComponentBase, CreateSettings
from processor.errors import PermanentError, RetryableError
from processor.exporters.kafka.disklog import DiskLog
from processor.exporters.kafka.exporter import receipt_to_ack_histogram, redelivered_counter
from processor.exporters.kafka.queue import Delivery, SendQueue
from processor.exporters.otlp.body import fit_body, request_bytes
from processor.exporters.otlp.config import OtlpExporterConfig
from processor.exporters.otlp.outcome import Outcome, Result
from processor.exporters.otlp.request import Pieces, QueuedRequest
from processor.exporters.otlp.sender import RequestSender, Transport
from processor.model.batch import Batch


class OtlpExporter(ComponentBase):
    def __init__(self, settings: CreateSettings, config: OtlpExporterConfig, transport: Transport) -> None:
        self.config = config
        self.id = str(settings.id)
        self.log: logging.Logger = settings.logger
        self.transport = transport
        telemetry = settings.telemetry
        self.sent, self.failed, self.dropped = telemetry.exporter_sent, telemetry.exporter_failed, \
            telemetry.exporter_dropped
        self.latency = telemetry.export_latency.labels(self.id)
        self.redelivered = redelivered_counter(telemetry.registry)
        self.receipt_to_ack = receipt_to_ack_histogram(telemetry.registry).labels(self.id)
        self.capacity_gauge = telemetry.queue_capacity.labels(self.id)
        queue_config = config.sending_queue
        self.queue = SendQueue(queue_config.queue_size, block=queue_config.when_full == "block",
                               on_size=telemetry.queue_size.labels(self.id).set, name=f"{self.id} exporter")
        #: Requests are cut to this size; lowered when the backend refuses a smaller one as too large.
        self.limit = config.max_request_size
        self.disk: DiskLog | None = None
        self.sender: RequestSender | None = None
        self._task: asyncio.Task | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.config.endpoint)

    async def start(self, host) -> None:
        if not self.enabled:
            self.log.info("%s: exporters::%s::endpoint is empty, so nothing is forwarded (set it, e.g. through "
                          "OTLP_ENDPOINT in the ready pipelines)", self.id, self.id)
            return
        await self.transport.start()
        storage = self.config.sending_queue.storage
        if storage is not None:
            self.disk = DiskLog(Path(storage.directory) / self.id.replace("/", "_"), log=self.log,
                                record_type=QueuedRequest)
            recovered = await asyncio.to_thread(self.disk.open)
            if recovered:
                self.log.info("%s: re-sending %d requests left in the queue at %s", self.id, len(recovered),
                              self.disk.directory)
                for request in recovered:
                    self.redelivered.labels(self.id, request.kind).inc(request.items)
                self.queue.add_recovered(len(recovered))
                self.queue.put(recovered)
        self.capacity_gauge.set(self.config.sending_queue.queue_size)
        self.sender = RequestSender(self.queue, self.transport, self.config.retry_on_failure,
                                    workers=self.config.sending_queue.num_consumers,
                                    retry_forever=self.disk is not None, settle=self._settle, cut=self._cut,
                                    on_resend=self._on_resend, log=self.log, name=self.id)
        self._task = asyncio.create_task(self.sender.run(), name=f"{self.id} sender")
        self.log.info("%s exporter sending to %s (%s)", self.id, self.transport.peer,
                      "persistent queue" if self.disk else "in-memory queue")

    async def consume(self, batch: Batch) -> None:
        if not self.enabled:
            return
        if self.sender is None:
            raise RetryableError(f"{self.id} exporter is not running")
        items = batch.item_count()
        if items == 0:  # stream records only: those go to kafka, file or prometheus
            return
        pieces = fit_body(batch.signal, request_bytes(batch), items, self.limit)
        now = time.monotonic()
        requests = [QueuedRequest(batch.signal, body, count, enqueued_at=now) for body, count in pieces]
        if not await self.queue.reserve(len(requests)):
            self.dropped.labels(self.id, requests[0].kind).inc(items)
            return
        delivery = None
        try:
            if self.disk is not None:
                await self.disk.append(requests)
            else:
                delivery = Delivery(len(requests), name=self.id, peer=self.transport.peer)
                for request in requests:
                    request.delivery = delivery
        except BaseException as exc:
            self.queue.finish(len(requests))
            if isinstance(exc, OSError):
                raise RetryableError(f"{self.id}: cannot write the on-disk queue: {exc}") from exc
            raise
        self.queue.put(requests)
        if delivery is not None:
            await delivery.wait()
            if delivery.refused:
                _, error = delivery.refused[0]
                raise PermanentError(f"{self.id}: {self.transport.peer} refused records: {error}")
            acked = time.monotonic_ns()
            for received in batch.received_ns:
                self.receipt_to_ack.observe((acked - received) / 1e9)

    def _settle(self, request: QueuedRequest, outcome: Outcome) -> None:
        """`request` leaves the queue: the backend took it (maybe in part), or it failed for good."""
        kind, error = request.kind, None
        if outcome.result is Result.ACCEPTED:
            self.sent.labels(self.id, kind).inc(max(0, request.items - outcome.rejected))
            if outcome.rejected:  # a partial success: logged and counted once, never sent again
                self.failed.labels(self.id, kind).inc(outcome.rejected)
                self.log.warning("%s: %s rejected %d of %d %s (partial success, not retried): %s", self.id,
                                 self.transport.peer, outcome.rejected, request.items, kind, outcome.message)
            if request.enqueued_at is not None:
                self.latency.observe(time.monotonic() - request.enqueued_at)
        else:
            self.failed.labels(self.id, kind).inc(request.items)
            after = "dropped" if outcome.result is not Result.RETRY or self.disk is not None else \
                "the receiver's client is asked to send again"
            self.log.error("%s: %d %s not delivered to %s (%s); %s", self.id, request.items, kind,
                           self.transport.peer, outcome.message, after)
            error = (RetryableError if outcome.result is Result.RETRY else PermanentError)(outcome.message)
        self._release(request)
        if isinstance(request.delivery, Delivery):
            request.delivery.settle(request, error, retryable=outcome.result is Result.RETRY)
        self.queue.finish()

    def _release(self, request: QueuedRequest) -> None:
        """Its place in the on-disk queue is freed once it, or every piece of the request it was cut from, is done."""
        if request.part_of is not None:
            request.part_of.left -= 1
            if request.part_of.left > 0:
                return
            request = request.part_of.whole
        if request.segment is not None and self.disk is not None:
            self.disk.release(request.segment)

    def _cut(self, request: QueuedRequest, outcome: Outcome) -> bool:
        """Replace `request`, refused as too large, by pieces of half its size or less; False if it cannot be cut."""
        limit = max(1024, len(request.body) // 2)
        pieces = fit_body(request.signal, request.body, request.items, limit)
        if len(pieces) < 2:
            return False
        if limit < self.limit:
            self.limit = limit
            self.log.warning("%s: %s refused a request of %d bytes as too large (%s); requests are cut to %d bytes "
                             "from now on", self.id, self.transport.peer, len(request.body), outcome.message, limit)
        group = request.part_of or Pieces(request, 1)
        group.left += len(pieces) - 1
        if isinstance(request.delivery, Delivery):
            request.delivery.pending += len(pieces) - 1
        self.queue.add_recovered(len(pieces) - 1)  # the pieces take the whole's place, and some more
        self.queue.put([QueuedRequest(request.signal, body, count, enqueued_at=request.enqueued_at,
                                      delivery=request.delivery, part_of=group) for body, count in pieces])
        return True

    def _on_resend(self, request: QueuedRequest) -> None:
        self.redelivered.labels(self.id, request.kind).inc(request.items)

    async def shutdown(self) -> None:
        try:
            if self._task is not None:
                await self._drain()
        finally:
            if self.disk is not None:
                self.disk.close()
            await self.transport.close()

    async def _drain(self) -> None:
        self.queue.close()
        await self.queue.wait_empty(self.config.flush_timeout)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        left = self.queue.unsent() + list(self.sender.in_flight)
        if left:
            where = "they stay in the on-disk queue and are sent on the next start" if self.disk else "they are lost"
            self.log.warning("%s: %d requests not delivered at shutdown; %s", self.id, len(left), where)
        if self.disk is None:
            for request in left:
                self._settle(request, Outcome.retry(f"{self.id} exporter shut down"))
        self.sender = None
