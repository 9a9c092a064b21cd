"""Runs `tokenstream run` as a real process on free loopback ports, for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TokenstreamProcess:
    """`python -m processor run` on a config dict; `health_port` must be that config's health_check port.

    With `workers` it runs `--workers N`: healthy then means every worker has started. With `open_files` (soft,
    hard) the process starts with that RLIMIT_NOFILE, as a shell's `ulimit -n` would give it.
    """

    def __init__(self, config: dict[str, Any], workdir: Path, *, health_port: int,
                 env: dict[str, str] | None = None, workers: int | None = None,
                 open_files: tuple[int, int] | None = None) -> None:
        self.config_path = workdir / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "tokenstream.log"
        self.health_port = health_port
        self.env = {**os.environ, **(env or {})}
        self.workers = workers
        self.open_files = open_files
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> TokenstreamProcess:
        """Start it and wait until it is healthy. `timeout` only guards against a hang: on a loaded machine a start
        (imports, the embedded broker) has taken over 20 s."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        command = [sys.executable, "-m", "processor", "run", "--config", str(self.config_path)]
        if self.workers is not None:
            command += ["--workers", str(self.workers)]
        limits = self.open_files
        preexec = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limits)) if limits else None
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
                                     preexec_fn=preexec)  # noqa: PLW1509 - setrlimit only, no locks taken
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tokenstream exited with {self.proc.returncode}:\n{self.logs()}")
            if self.health() == 200:
                return self
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"tokenstream did not become healthy in {timeout}s:\n{self.logs()}")

    def health(self) -> int | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/", timeout=1) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if getattr(self, "_log", None):
            self._log.close()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
