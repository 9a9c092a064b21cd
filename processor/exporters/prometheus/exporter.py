"""Serves the stream metrics, and tokenstream's own, on `/metrics` for Prometheus to scrape."""

from __future__ import annotations

import weakref

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.exposition import choose_encoder

from processor.component import ComponentBase, CreateSettings
from processor.exporters.prometheus.config import PrometheusConfig
from processor.exporters.prometheus.labels import LabelResolver
from processor.exporters.prometheus.metrics import StreamMetrics
from processor.model.batch import Batch
from processor.service.http import HttpServer

# One overflow counter per self-telemetry registry, shared by every prometheus exporter that reports to it.
_OVERFLOW_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def overflow_counter(registry: CollectorRegistry) -> Counter:
    counter = _OVERFLOW_COUNTERS.get(registry)
    if counter is None:
        counter = _OVERFLOW_COUNTERS[registry] = Counter(
            "tokenstream_prometheus_overflow", "Observations folded into the __overflow__ series over the "
            "cardinality limit.", ["exporter", "metric"], registry=registry)
    return counter


class _Exposition:
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
        self.labels = LabelResolver(config.labels)
        self.exposition = _Exposition(self.metrics, settings.telemetry.registry)
        app = web.Application()
        app.router.add_get("/metrics", self._scrape)
        self.server = HttpServer(app, config.endpoint)

    @property
    def port(self) -> int | None:
        """The port `/metrics` is served on, once started (useful with port 0)."""
        return self.server.port

    async def start(self, host) -> None:
        await self.server.start()
        host_part = self.server.endpoint.rpartition(":")[0]
        self.log.info("serving metrics on http://%s:%d/metrics", host_part, self.port)

    async def shutdown(self) -> None:
        await self.server.stop(grace=0.5)

    async def consume(self, batch: Batch) -> None:
        if not batch.streams:
            return
        labels_of = self.labels.for_batch(batch)
        observe = self.metrics.observe
        for record in batch.streams:
            observe(record, labels_of(record))
        self.sent.inc(len(batch.streams))

    async def _scrape(self, request: web.Request) -> web.Response:
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = web.Response(body=encode(self.exposition), headers={"Content-Type": content_type})
        response.enable_compression()  # gzip or deflate when the scraper asks for it (Prometheus does)
        return response
