"""Running a validated config: self-telemetry, the graph, signals, and a bounded graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from processor.config.validate import Config
from processor.service import gc_policy
from processor.service.graph import Graph
from processor.service.host import Host, Status
from processor.service.http import HttpServer
from processor.service.limits import AcceptFailures, raise_open_files_limit
from processor.service.signals import StopSignals, log_repeated
from processor.service.telemetry import SelfTelemetry
from processor.service.workers import WorkerContext, worker_config

log = logging.getLogger("tokenstream.service")


class Service:
    def __init__(self, config: Config, telemetry: SelfTelemetry | None = None, *,
                 worker: WorkerContext | None = None) -> None:
        self.config = config
        #: Set when this process is one of several workers; the supervisor then serves health and metrics.
        self.worker = worker
        self.telemetry = telemetry or SelfTelemetry()
        self.host = Host(self.telemetry)
        self.graph = Graph(worker_config(config, worker) if worker else config, self.telemetry)
        self._metrics_server: HttpServer | None = None
        self._stopping = asyncio.Event()
        #: The collector's thresholds before start (_tune_collector), restored at shutdown.
        self._thresholds: tuple[int, int, int] | None = None

    async def start(self) -> None:
        raise_open_files_limit()
        AcceptFailures(self.telemetry.accept_failures).install(asyncio.get_running_loop())
        metrics = self.config.service.telemetry.metrics
        if metrics.level != "none" and self.worker is None:
            self._metrics_server = HttpServer(_metrics_app(self.telemetry), metrics.address, reuse_port=True)
            await self._metrics_server.start()
            log.info("self-telemetry on http://%s/metrics", metrics.address)
        self.host.status = Status.STARTING
        await self.graph.start(self.host)
        self.host.status = Status.RUNNING
        self._thresholds = _tune_collector()
        if self.worker is not None:
            self.worker.mark_ready()
        log.info("everything is running")

    async def shutdown(self) -> bool:
        """Drain and stop; True when it finished within service.shutdown_timeout."""
        self.host.status = Status.DRAINING
        timeout = self.config.service.shutdown_timeout
        try:
            await asyncio.wait_for(self.graph.shutdown(), timeout)
            finished = True
        except TimeoutError:
            log.error("shutdown took longer than service.shutdown_timeout (%ss); stopping anyway", timeout)
            finished = False
        if self._metrics_server:
            await self._metrics_server.stop(grace=0.5)
        self.host.status = Status.STOPPED
        gc.unfreeze()
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
        return finished

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> int:
        """Start, wait for SIGTERM or SIGINT, drain. Returns the process exit code."""
        signals = StopSignals(self._on_signal, log_repeated(log, "draining"))
        signals.install(asyncio.get_running_loop())
        try:
            try:
                await self.start()
            except Exception as exc:
                log.error("could not start: %s", exc)
                await self.shutdown()
                return 1
            gc_policy.after_start()  # the process's, once: not in start(), which tests call in their own process
            await self._stopping.wait()
            return 0 if await self.shutdown() else 1
        finally:
            signals.ignore_from_now()

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("received %s: draining in-flight data and flushing exporters", sig.name)
        self.request_stop()


#: Allocations between two young collections (CPython's default: 700). Records on their way to Kafka live for a
#: batch's timeout and its acknowledgement, thousands of allocations: at 700 each young collection walked them and
#: moved them on to be walked again in the middle generation (GC ~9% of the CPU on ordinary spans; at 10,000 ~4%).
_YOUNG_THRESHOLD = 10_000


def _tune_collector() -> tuple[int, int, int]:
    """What is alive once everything has started (modules, classes, the graph: ~75,000 objects) lives as long as the
    process: kept out of the collector's generations, a full collection no longer walks it. Before, each took ~55 ms
    of CPU, and they were ~12% of the CPU on ordinary spans (bench: gc.callbacks timing). Startup's garbage is
    collected first, so nothing freed is kept. Returns the thresholds to restore at shutdown."""
    gc.collect()
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], _YOUNG_THRESHOLD), *before[1:])
    return before


def _metrics_app(telemetry: SelfTelemetry) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(telemetry.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app
