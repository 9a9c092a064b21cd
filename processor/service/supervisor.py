"""The supervisor of `service.workers: N`: runs N worker processes on the same ports, restarts the ones that die.

Each worker is `tokenstream run` with the same arguments, told its index by environment (workers.py). The
supervisor itself receives no telemetry data: it checks the ports first (a taken port fails here, loudly, not
as N crash-looping workers), starts the one embedded Kafka broker if a component needs it, serves health and
metrics for the whole set (supervisor_http.py), and on SIGTERM or SIGINT passes SIGTERM to every worker and
waits for them to drain, up to service.shutdown_timeout. It exits 0 when every worker did. A signal after the
first is logged and ignored (signals.py), by the supervisor and by each worker: a terminal's Ctrl-C reaches them
all, and then the supervisor's own SIGTERM too.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from processor.component import Kind
from processor.config.types import split_endpoint
from processor.config.validate import Config
from processor.service.host import Status
from processor.service.limits import AcceptFailures, raise_open_files_limit
from processor.service.signals import StopSignals, log_repeated
from processor.service.supervisor_http import SupervisorEndpoints
from processor.service.worker_process import WorkerProcess
from processor.service.workers import WorkerContext, metrics_dir, uses_embedded_kafka

log = logging.getLogger("tokenstream.supervisor")

#: Beyond shutdown_timeout, how long a worker gets to exit after its own drain deadline.
EXIT_MARGIN_S = 3.0


class Supervisor:
    def __init__(self, config: Config, config_files: Sequence[str], overrides: Sequence[str]) -> None:
        self.config = config
        self.command = [sys.executable, "-m", "processor", "run", *(arg for path in config_files
                                                                    for arg in ("--config", path)),
                        *(arg for item in overrides for arg in ("--set", item))]
        self._stopping = asyncio.Event()
        self._draining = False
        self._workers: list[WorkerProcess] = []

    def status(self) -> Status:
        if self._draining:
            return Status.DRAINING
        return Status.RUNNING if self._workers and all(w.ready for w in self._workers) else Status.STARTING

    async def run(self) -> int:
        signals = StopSignals(self._on_signal, log_repeated(log, "the workers drain"))
        signals.install(asyncio.get_running_loop())
        raise_open_files_limit()  # the workers inherit it
        try:
            return await self._run()
        finally:
            signals.ignore_from_now()

    async def _run(self) -> int:
        problems = _taken_ports(self.config)
        if problems:
            for problem in problems:
                log.error("%s", problem)
            return 1
        directory = Path(tempfile.mkdtemp(prefix="tokenstream-workers-"))
        metrics_dir(directory).mkdir()
        broker = None
        try:
            if uses_embedded_kafka(self.config):
                broker = await asyncio.to_thread(_start_embedded_broker)
            endpoints = SupervisorEndpoints(self.config, directory, self.status)
            AcceptFailures(endpoints.accept_failures).install(asyncio.get_running_loop())
            await endpoints.start()
            try:
                return await self._supervise(directory, broker.bootstrap if broker else None, endpoints)
            finally:
                await endpoints.stop()
        except Exception as exc:
            log.error("could not start: %s", exc)
            return 1
        finally:
            if broker is not None:
                await asyncio.to_thread(broker.stop)
            shutil.rmtree(directory, ignore_errors=True)

    async def _supervise(self, directory: Path, embedded_kafka: str | None, endpoints: SupervisorEndpoints) -> int:
        count = self.config.service.workers
        self._workers = [WorkerProcess(self.command, WorkerContext(i, count, directory, embedded_kafka),
                                       on_restart=endpoints.restarts.labels(str(i)).inc) for i in range(count)]
        log.info("starting %d workers sharing the receivers' ports", count)
        tasks = [asyncio.create_task(worker.keep_running(self._stopping), name=f"worker {worker.context.index}")
                 for worker in self._workers]
        failed_start = asyncio.create_task(self._any_failed_start())
        stop = asyncio.create_task(self._stopping.wait())
        await asyncio.wait([failed_start, stop], return_when=asyncio.FIRST_COMPLETED)
        if failed_start.done() and failed_start.result():
            log.error("a worker could not start; stopping the others")
        failed_start.cancel()
        stop.cancel()
        return await self._drain(tasks)

    async def _any_failed_start(self) -> bool:
        """True as soon as a worker exits before it ever started; False once all of them started."""
        while not all(w.ready for w in self._workers):
            if any(w.failed_start for w in self._workers):
                return True
            await asyncio.sleep(0.05)
        log.info("all %d workers are running", len(self._workers))
        while True:  # from now on a dead worker is restarted, not a failed start
            await asyncio.sleep(3600)

    async def _drain(self, tasks: list[asyncio.Task]) -> int:
        self._draining = True
        self._stopping.set()
        for worker in self._workers:
            worker.terminate()
        timeout = self.config.service.shutdown_timeout + EXIT_MARGIN_S
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        if pending:
            log.error("workers still running %.0fs after SIGTERM; killing them", timeout)
            for worker in self._workers:
                worker.kill()
            await asyncio.wait(pending, timeout=5)
        codes = [worker.exit_code for worker in self._workers]
        if all(code == 0 for code in codes):
            log.info("all workers drained and exited")
            return 0
        log.error("workers exited with %s", codes)
        return 1

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("received %s: draining every worker", sig.name)
        self._stopping.set()


def _taken_ports(config: Config) -> list[str]:
    """Receiver ports the workers will share must be free now, and fixed (port 0 would differ per worker)."""
    used = {cid for pipeline in config.pipelines for cid in pipeline.receivers}
    problems = []
    for cid in sorted(used, key=str):
        for path, endpoint in config.components[Kind.RECEIVER][cid].endpoints().items():
            host, port = split_endpoint(endpoint)
            where = f"receivers::{cid}::{path}"
            if port == 0:
                problems.append(f"{where}: port 0 picks a different port in each worker; set a port for "
                                "service.workers > 1")
                continue
            with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is fine
                try:
                    probe.bind((host or "0.0.0.0", port))
                except OSError as exc:
                    problems.append(f"{where}: cannot listen on {endpoint}: {exc.strerror or exc}")
    return problems


def _start_embedded_broker():
    from processor.kafka.embedded import EmbeddedBroker

    broker = EmbeddedBroker()
    broker.start()
    log.warning("no Kafka brokers configured: started one embedded broker (tansu, in memory) at %s for all "
                "workers. It is for first runs and tests, not production: its data is gone when tokenstream "
                "stops. Set brokers to use a real Kafka cluster.", broker.bootstrap)
    return broker
