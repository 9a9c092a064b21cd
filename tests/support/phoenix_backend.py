"""Arize Phoenix, a real trace backend, in a virtualenv of its own, on free loopback ports.

The virtualenv is made the first time (pinned `arize-phoenix`, several minutes) under `.cache/venvs/` (gitignored)
and reused after, so a fresh machine or CI needs nothing by hand. Phoenix keeps its SQLite database in a working
directory under the test's tmp path; `spans()` reads them back through its REST API.

    with Phoenix(tmp_path).start() as phoenix:
        ... export to phoenix.grpc_endpoint (OTLP/gRPC) or phoenix.http_endpoint + /v1/traces ...
        spans = phoenix.wait_for_spans(count=3)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from processor.testing.process import free_port

PIN = "arize-phoenix==20.26.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV = REPO_ROOT / ".cache" / "venvs" / PIN.replace("==", "-")
INSTALL_TIMEOUT_S = 1800
START_TIMEOUT_S = 240


def phoenix_python() -> Path:
    """Phoenix's interpreter, creating its virtualenv first if needed (once, under a lock)."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"

    def ready() -> bool:
        return marker.exists() and marker.read_text() == PIN and python.exists() and (VENV / "pyvenv.cfg").exists()

    if ready():
        return python
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f".{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PIN],
                           check=True, timeout=INSTALL_TIMEOUT_S)
            marker.write_text(PIN)
    return python


class Phoenix:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / "phoenix"
        self.http_port, self.grpc_port = free_port(), free_port()
        self.log_path = workdir / "phoenix.log"
        self.proc: subprocess.Popen | None = None

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Phoenix:
        python = phoenix_python()
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "PHOENIX_"))}
        env.update(PHOENIX_HOST="127.0.0.1", PHOENIX_PORT=str(self.http_port), PHOENIX_GRPC_PORT=str(self.grpc_port),
                   PHOENIX_WORKING_DIR=str(self.workdir), PHOENIX_TELEMETRY_ENABLED="false")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen([str(python), str(Path(__file__).with_name("phoenix_launch.py"))],
                                     cwd=self.workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"phoenix exited with {self.proc.returncode}:\n{self.logs()[-4000:]}")
            if self._get("/healthz", raw=True) == b"OK" and self._grpc_open():
                return self
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"phoenix did not start in {START_TIMEOUT_S}s:\n{self.logs()[-4000:]}")

    def _grpc_open(self) -> bool:
        import socket

        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.grpc_port)) == 0

    def _get(self, path: str, *, raw: bool = False):
        try:
            with urllib.request.urlopen(f"{self.http_endpoint}{path}", timeout=10) as response:
                body = response.read()
        except (urllib.error.URLError, OSError):
            return None
        return body.strip() if raw else json.loads(body)

    def spans(self, project: str = "default") -> list[dict]:
        """Every span Phoenix stored in `project`, as its REST API gives them."""
        spans, cursor = [], None
        while True:
            query = "limit=1000" + (f"&cursor={cursor}" if cursor else "")
            page = self._get(f"/v1/projects/{project}/spans?{query}") or {"data": []}
            spans += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return spans

    def wait_for_spans(self, count: int, *, timeout: float = 60.0, project: str = "default") -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(project)
            if len(spans) >= count or time.monotonic() > deadline:
                return spans
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        with contextlib.suppress(AttributeError):
            self._log.close()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Phoenix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
