"""The supervisor's side of a prometheus exporter run by worker processes: one `/metrics`, summed across them."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from processor.exporters.prometheus.config import PrometheusConfig
from processor.exporters.prometheus.exporter import Exposition, scrape_app
from processor.exporters.prometheus.metrics import StreamMetrics
from processor.exporters.prometheus.snapshot import merge_into, read_snapshots
from processor.service.http import HttpServer


class MergedStreamMetrics:
    """A collector: every worker's latest snapshot of one exporter, summed anew at each scrape."""

    def __init__(self, config: PrometheusConfig, directory: Path) -> None:
        self.config = config
        self.directory = directory

    def collect(self):
        config = self.config
        metrics = StreamMetrics(namespace=config.namespace, const_labels=config.const_labels,
                                limit=config.cardinality_limit, ttl=config.metric_expiration,
                                on_overflow=lambda _metric: None)  # each worker counted its own folds
        wall = time.time()
        merge_into(metrics, read_snapshots(self.directory, config.metric_expiration, wall=wall), wall=wall)
        yield from metrics.collect()


def merged_server(config: PrometheusConfig, snapshots: Path, telemetry: CollectorRegistry) -> HttpServer:
    """What the exporter serves alone, for worker processes: stream metrics and self-telemetry, both summed."""
    return HttpServer(scrape_app(Exposition(MergedStreamMetrics(config, snapshots), telemetry)), config.endpoint)
