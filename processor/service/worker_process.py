"""One worker slot of the supervisor: its process, restarted when it dies, its death logged."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence

from prometheus_client import multiprocess

from processor.service.workers import WorkerContext, metrics_dir, ready_path

log = logging.getLogger("tokenstream.supervisor")

RESTART_DELAY_S = 0.2
MAX_RESTART_DELAY_S = 10.0
#: A worker that ran this long before dying is restarted after the shortest delay again.
STABLE_AFTER_S = 30.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """A worker whose supervisor is gone drains and stops (SIGTERM) rather than holding the ports."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class WorkerProcess:
    def __init__(self, command: Sequence[str], context: WorkerContext, *, on_restart: Callable[[], None]) -> None:
        self.command = list(command)
        self.context = context
        self.on_restart = on_restart
        self.process: asyncio.subprocess.Process | None = None
        self.pid: int | None = None
        self.exit_code: int | None = None
        #: It exited before it ever started every component: a config or port problem, not worth a restart.
        self.failed_start = False
        self._started_once = False

    @property
    def ready(self) -> bool:
        process = self.process
        return process is not None and process.returncode is None \
            and ready_path(self.context.directory, process.pid).exists()

    async def keep_running(self, stopping: asyncio.Event) -> None:
        """Run the worker until `stopping` is set and it has exited; restart it whenever it dies before."""
        delay = RESTART_DELAY_S
        loop = asyncio.get_running_loop()
        index = self.context.index
        while True:
            began = loop.time()
            self.process = await asyncio.create_subprocess_exec(
                *self.command, env={**os.environ, **self.context.env()}, preexec_fn=_die_with_parent)
            self.pid = pid = self.process.pid
            log.info("worker %d started (pid %d)", index, pid)
            if stopping.is_set():
                self.terminate()
            code = self.exit_code = await self.process.wait()
            self._settle(pid)
            if stopping.is_set():
                log.info("worker %d (pid %d) %s", index, pid, describe_exit(code))
                return
            if not self._started_once:
                log.error("worker %d (pid %d) %s before it started", index, pid, describe_exit(code))
                self.failed_start = True
                return
            if loop.time() - began > STABLE_AFTER_S:
                delay = RESTART_DELAY_S
            log.error("worker %d (pid %d) died: it %s; restarting it in %.1fs", index, pid, describe_exit(code), delay)
            self.on_restart()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
                return
            delay = min(delay * 2, MAX_RESTART_DELAY_S)  # a worker that keeps dying is restarted less often

    def _settle(self, pid: int) -> None:
        """Forget a finished process: its readiness mark, and its live gauges in the summed metrics."""
        mark = ready_path(self.context.directory, pid)
        if mark.exists():
            self._started_once = True
            mark.unlink()
        multiprocess.mark_process_dead(pid, str(metrics_dir(self.context.directory)))

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
