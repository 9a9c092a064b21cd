"""The otlp and otlphttp exporters: traces, logs and metrics to an OTLP backend, counted when it has answered.

When `consume` returns, the batch is safe, as with the kafka exporter (both hold it in exporterhelper's queue):
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

from processor.component import ComponentBase, CreateSettings
from processor.errors import PermanentError, RetryableError
from processor.exporters.exporterhelper.queue import Delivery
from processor.exporters.exporterhelper.sending import SendingQueue
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
        queue_config = config.sending_queue
        storage = queue_config.storage
        self.sending = SendingQueue(self.id, settings.telemetry, name=self.id, peer=transport.peer, noun="requests",
                                    capacity=queue_config.queue_size, block=queue_config.when_full == "block",
                                    storage=storage.directory if storage is not None else None,
                                    record_type=QueuedRequest, log=self.log)
        #: Requests are cut to this size; lowered when the backend refuses a smaller one as too large.
        self.limit = config.max_request_size
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
        await self.sending.open()
        self.sender = RequestSender(self.sending.queue, self.transport, self.config.retry_on_failure,
                                    workers=self.config.sending_queue.num_consumers,
                                    retry_forever=self.sending.disk is not None, settle=self._settle, cut=self._cut,
                                    on_resend=self.sending.resent, log=self.log, name=self.id)
        self._task = asyncio.create_task(self.sender.run(), name=f"{self.id} sender")
        self.log.info("%s exporter sending to %s (%s)", self.id, self.transport.peer,
                      "persistent queue" if self.sending.disk else "in-memory queue")

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
        delivery = await self.sending.send(requests)
        if delivery is not None:
            if delivery.refused:
                _, error = delivery.refused[0]
                raise PermanentError(f"{self.id}: {self.transport.peer} refused records: {error}")
            self.sending.acknowledged(batch)

    def _settle(self, request: QueuedRequest, outcome: Outcome) -> None:
        """`request` leaves the queue: the backend took it (maybe in part), or it failed for good."""
        kind, error = request.kind, None
        if outcome.result is Result.ACCEPTED:
            self.sending.delivered(request, max(0, request.items - outcome.rejected))
            if outcome.rejected:  # a partial success: logged and counted once, never sent again
                self.sending.failed.labels(self.id, kind).inc(outcome.rejected)
                self.log.warning("%s: %s rejected %d of %d %s (partial success, not retried): %s", self.id,
                                 self.transport.peer, outcome.rejected, request.items, kind, outcome.message)
        else:
            self.sending.failed.labels(self.id, kind).inc(request.items)
            after = "dropped" if outcome.result is not Result.RETRY or self.sending.disk is not None else \
                "the receiver's client is asked to send again"
            self.log.error("%s: %d %s not delivered to %s (%s); %s", self.id, request.items, kind,
                           self.transport.peer, outcome.message, after)
            error = (RetryableError if outcome.result is Result.RETRY else PermanentError)(outcome.message)
        self.sending.finish(request, error, retryable=outcome.result is Result.RETRY, segment=_segment(request))

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
        self.sending.queue.add_recovered(len(pieces) - 1)  # the pieces take the whole's place, and some more
        self.sending.queue.put([QueuedRequest(request.signal, body, count, enqueued_at=request.enqueued_at,
                                              delivery=request.delivery, part_of=group) for body, count in pieces])
        return True

    async def shutdown(self) -> None:
        try:
            if self._task is not None:
                await self._drain()
        finally:
            self.sending.close()
            await self.transport.close()

    async def _drain(self) -> None:
        await self.sending.stop(self._task, self.config.flush_timeout)
        self._task = None
        left = self.sending.queue.unsent() + list(self.sender.in_flight)
        if left:
            self.log.warning("%s: %d requests not delivered at shutdown; %s", self.id, len(left),
                             self.sending.left_behind())
        if self.sending.disk is None:
            for request in left:
                self._settle(request, Outcome.retry(f"{self.id} exporter shut down"))
        self.sender = None


def _segment(request: QueuedRequest) -> int | None:
    """Its place in the on-disk queue, to free once it, or every piece of the request it was cut from, is done."""
    if request.part_of is not None:
        request.part_of.left -= 1
        if request.part_of.left > 0:
            return None
        request = request.part_of.whole
    return request.segment
