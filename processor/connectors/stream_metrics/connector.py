"""The stream_metrics connector: stream records from traces (or logs) pipelines -> OTLP metrics into metrics pipelines.

It aggregates exactly as the prometheus exporter does (the same StreamMetrics: names, attributes, semconv buckets,
cardinality cap, expiry), and every `interval` sends the aggregates, as one ExportMetricsServiceRequest, to the
metrics pipelines it is a receiver of (and so to `otlp`/`otlphttp`). `consume` only aggregates: it never waits on
the metrics side. A send the metrics pipeline cannot take now (RetryableError) is logged and counted; cumulative
metrics carry everything again next time, and delta ones carry what it missed (otlp_metrics.py). A send refused
for good is dropped, logged and counted, and not sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.connectors.stream_metrics.config import StreamMetricsConfig
from processor.connectors.stream_metrics.exponential import ExponentialHistogramFamily
from processor.connectors.stream_metrics.otlp_metrics import OtlpMetricsWriter
from processor.errors import RetryableError
from processor.exporters.prometheus.exporter import overflow_counter
from processor.exporters.prometheus.metrics import StreamMetrics
from processor.exporters.prometheus.series import HistogramFamily
from processor.model.batch import Batch, Signal

#: One per process: a worker's (or replica's) cumulative series are its own.
INSTANCE_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class StreamMetricsConnector(ComponentBase):
    def __init__(self, settings: CreateSettings, config: StreamMetricsConfig, next_consumer: Consumer) -> None:
        self.id = str(settings.id)
        self.log: logging.Logger = settings.logger
        self.config = config
        self.next = next_consumer
        telemetry = settings.telemetry
        self.sent = telemetry.exporter_sent.labels(self.id, "metric_points")
        self.failed = telemetry.exporter_failed.labels(self.id, "metric_points")
        self.observed = telemetry.exporter_sent.labels(self.id, "streams")
        overflow = overflow_counter(telemetry.registry)
        histogram = HistogramFamily if config.histogram == "explicit" else functools.partial(
            ExponentialHistogramFamily, max_size=config.exponential_max_size)
        self.metrics = StreamMetrics(namespace=config.namespace, const_labels=config.const_labels,
                                     limit=config.cardinality_limit, ttl=config.metric_expiration,
                                     on_overflow=lambda metric: overflow.labels(self.id, metric).inc(),
                                     histogram_family=histogram)
        resource = {**config.resource_attributes}
        resource.setdefault("service.instance.id", INSTANCE_ID)
        self.writer = OtlpMetricsWriter(self.metrics, delta=config.temporality == "delta",
                                        namespace=config.namespace, const_labels=config.const_labels,
                                        resource_attributes=resource)
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()  # one send at a time: a delta is committed before the next is cut

    async def start(self, host) -> None:
        self._task = asyncio.create_task(self._send_periodically(), name=f"{self.id} sender")

    async def consume(self, batch: Batch) -> None:
        self.metrics.observe_batch(batch)
        if batch.streams:
            self.observed.inc(len(batch.streams))

    async def flush(self) -> None:
        """Send the aggregates now (also the last send, at shutdown)."""
        async with self._lock:
            request, commit = self.writer.request()
            batch = Batch(Signal.METRICS, request)
            points = batch.item_count()
            if points == 0:
                commit()
                return
            try:
                await self.next.consume(batch)
            except RetryableError as exc:  # the metrics pipeline is full or down: carried by the next send
                self.failed.inc(points)
                self.log.warning("%s: the metrics pipeline did not take %d points (%s); they go with the next send",
                                 self.id, points, exc)
                return
            except Exception as exc:  # noqa: BLE001 - refused for good: sending it again would not help
                self.failed.inc(points)
                self.log.error("%s: the metrics pipeline refused %d points: %s", self.id, points, exc)
            else:
                self.sent.inc(points)
            commit()

    async def _send_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.config.interval)
            await self.flush()

    async def shutdown(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await self.flush()
