"""Serves the stream metrics, and tokenstream's own, on `/metrics` for Prometheus to scrape.

In a worker process (service.workers > 1) the exporter does not listen: it publishes its aggregates for
the supervisor, which serves one `/metrics` summed across workers (see snapshot.py and merged.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.exposition import choose_encoder

from processor.component import ComponentBase, CreateSettings
from processor.exporters.prometheus.config import PrometheusConfig
from processor.exporters.prometheus.metrics import StreamMetrics
from processor.exporters.prometheus.snapshot import PUBLISH_INTERVAL_S, publish
from processor.model.batch import Batch
from processor.service.http import HttpServer
from processor.service.telemetry import shared_counter
from processor.service.workers import current_worker, snapshots_dir


def overflow_counter(registry: CollectorRegistry) -> Counter:
    """One per self-telemetry registry, shared by every prometheus exporter that reports to it."""
    return shared_counter(registry, "tokenstream_prometheus_overflow", "Observations folded into the __overflow__ "
                          "series over the cardinality limit.", ["exporter", "metric"])


class Exposition:
    """The stream metrics and the self-telemetry, as one collector for one scrape."""

    def __init__(self, *collectors) -> None:
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


class PrometheusExporter(ComponentBase):
    def __init__(self, settings: CreateSettings, config: PrometheusConfig) -> None:
        self.id = str(settings.id)
        self.log = settings.logger
        self.sent = settings.telemetry.exporter_sent.labels(self.id, "streams")
        overflow = overflow_counter(settings.telemetry.registry)
        self.metrics = StreamMetrics(namespace=config.namespace, const_labels=config.const_labels,
                                     limit=config.cardinality_limit, ttl=config.metric_expiration,
                                     on_overflow=lambda metric: overflow.labels(self.id, metric).inc())
        self.exposition = Exposition(self.metrics, settings.telemetry.registry)
        self.server = HttpServer(scrape_app(self.exposition), config.endpoint)
        worker = current_worker()
        self._snapshots = snapshots_dir(worker.directory, self.id) if worker else None
        self._publisher: asyncio.Task | None = None
        self._observed = 0  # records observed so far: a snapshot is written only when it moved

    @property
    def port(self) -> int | None:
        """The port `/metrics` is served on, once started (useful with port 0)."""
        return self.server.port

    async def start(self, host) -> None:
        if self._snapshots is not None:
            self._publisher = asyncio.create_task(self._publish_periodically(), name=f"{self.id}.publish")
            self.log.info("metrics of this worker are served by the supervisor on %s", self.server.endpoint)
            return
        await self.server.start()
        host_part = self.server.endpoint.rpartition(":")[0]
        self.log.info("serving metrics on http://%s:%d/metrics", host_part, self.port)

    async def shutdown(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            self._publisher = None
            await asyncio.to_thread(publish, self.metrics, self._snapshots, str(os.getpid()))
        await self.server.stop(grace=0.5)

    async def _publish_periodically(self) -> None:
        published = -1
        while True:
            await asyncio.sleep(PUBLISH_INTERVAL_S)
            if self._observed != published:
                published = self._observed
                await asyncio.to_thread(publish, self.metrics, self._snapshots, str(os.getpid()))

    async def consume(self, batch: Batch) -> None:
        self._observed += self.metrics.observe_batch(batch)
        if batch.streams:
            self.sent.inc(len(batch.streams))


def scrape_app(exposition) -> web.Application:
    """`/metrics` for one collector (anything with `collect()`), in the text format the scraper asks for."""

    async def scrape(request: web.Request) -> web.Response:
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = web.Response(body=encode(exposition), headers={"Content-Type": content_type})
        response.enable_compression()  # gzip or deflate when the scraper asks for it (Prometheus does)
        return response

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app
