"""What the supervisor serves on behalf of its workers: one answer each, not one per worker.

A scraper or a probe that reached a random worker through SO_REUSEPORT would see a part of the truth:
one worker's counters, one worker's health. So the workers do not listen on these endpoints; the supervisor
does, with every worker's metrics summed (prometheus_client's multiprocess files for self-telemetry, the
prometheus exporter's snapshots for the stream metrics), and health that is "running" only when every
worker is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from processor.component import CreateSettings, Kind
from processor.config.validate import Config
from processor.service import registry
from processor.service.host import Status
from processor.service.http import HttpServer
from processor.service.telemetry import SelfTelemetry
from processor.service.workers import SUPERVISOR_EXTENSIONS, metrics_dir, snapshots_dir


class FleetHost:
    """The host a health_check extension sees in the supervisor: its status is that of all the workers."""

    def __init__(self, telemetry: SelfTelemetry, status_of: Callable[[], Status]) -> None:
        self.telemetry = telemetry
        self._status_of = status_of
        self.extensions: dict = {}
        self.components: dict = {}
        self.flush_pipelines = None

    @property
    def status(self) -> Status:
        return self._status_of()


class SupervisorEndpoints:
    def __init__(self, config: Config, directory: Path, status_of: Callable[[], Status]) -> None:
        self.telemetry = CollectorRegistry()
        MultiProcessCollector(self.telemetry, path=str(metrics_dir(directory)))
        self.restarts = Counter("tokenstream_worker_restarts", "Worker processes restarted after they died.",
                                ["worker"], registry=self.telemetry)
        self._host = FleetHost(SelfTelemetry(), status_of)
        #: The supervisor's own listeners' accept failures; logged, not served (the workers' counts are).
        self.accept_failures = self._host.telemetry.accept_failures
        self._extensions = []
        for name in config.service.extensions:
            cid = next(c for c in config.components[Kind.EXTENSION] if str(c) == name)
            if cid.type in SUPERVISOR_EXTENSIONS:
                settings = CreateSettings(cid, Kind.EXTENSION, logging.getLogger(f"tokenstream.extension.{cid}"),
                                          self._host.telemetry)
                factory = registry.get(Kind.EXTENSION, cid.type)
                self._extensions.append(factory.create(settings, config.components[Kind.EXTENSION][cid], None))
        self._servers: list[HttpServer] = []
        metrics = config.service.telemetry.metrics
        if metrics.level != "none":
            self._servers.append(HttpServer(_telemetry_app(self.telemetry), metrics.address))
        exporters = {cid for pipeline in config.pipelines for cid in pipeline.exporters if cid.type == "prometheus"}
        if exporters:
            from processor.exporters.prometheus.merged import merged_server

            for cid in sorted(exporters, key=str):
                self._servers.append(merged_server(config.components[Kind.EXPORTER][cid],
                                                   snapshots_dir(directory, str(cid)), self.telemetry))

    async def start(self) -> None:
        for server in self._servers:
            await server.start()
        for extension in self._extensions:
            await extension.start(self._host)

    async def stop(self) -> None:
        for extension in self._extensions:
            await extension.shutdown()
        for server in self._servers:
            await server.stop(grace=0.5)


def _telemetry_app(telemetry: CollectorRegistry) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(telemetry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app
