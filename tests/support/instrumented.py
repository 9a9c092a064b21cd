"""Drive the real openai SDK under a real instrumentation, in a subprocess, and get both clocks back.

    result = run_instrumented("traceloop", {"first_delay": 0.2, "stall_after": 3, "stall_seconds": 0.4},
                              otlp=capture.endpoint, server=stream_server)
    result.client_ttft_ns(), result.chunk_arrivals(), result.server_records[0].chunk_times("content")

Use `run_instrumented_async` from async tests whose OTLP receiver runs on the same event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.support.node_apps import app_command, is_node
from tests.support.stream_records import RequestRecord
from tests.support.stream_server import StreamServer
from tests.support.venvs import python_for

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Only a guard against a hang: an app run (imports, a stream, the exporter flush) took over 90 s on a loaded machine
RUN_TIMEOUT_S = 240.0


@dataclasses.dataclass
class RunResult:
    instrumentation: str
    scenario: dict[str, Any]
    key: str
    trace_id: str
    parent_span_id: str
    client_events: list[dict[str, Any]]
    server_records: list[RequestRecord]
    versions: dict[str, str]
    flushed: bool

    def client(self, event: str, *, attempt: int | None = None) -> list[dict[str, Any]]:
        return [e for e in self.client_events
                if e["event"] == event and (attempt is None or e.get("attempt") == attempt)]

    def create_called_ns(self, attempt: int = 1) -> int:
        return self.client("create_called", attempt=attempt)[0]["t_unix_nano"]

    def chunk_arrivals(self, attempt: int = 1) -> list[int]:
        """Unix-ns times the app received each chunk (role, content, finish and usage chunks alike)."""
        return [e["t_unix_nano"] for e in self.client("chunk_received", attempt=attempt)]

    def client_ttft_ns(self, attempt: int = 1) -> int:
        """App-observed time to first chunk: from create() being called to the first chunk reaching the app."""
        return self.chunk_arrivals(attempt)[0] - self.create_called_ns(attempt)

    def attempt_outcome(self, attempt: int = 1) -> str:
        """finished | closed | exception:<type> | none (the attempt never happened)."""
        for event in self.client_events:
            if event.get("attempt") != attempt:
                continue
            if event["event"] in ("stream_finished", "response_received"):
                return "finished"
            if event["event"] == "stream_closed":
                return "closed"
            if event["event"] == "exception":
                return f"exception:{event['type']}"
        return "none"

    @property
    def attempts(self) -> int:
        return len(self.client("create_called"))

    def chunk_writes(self, attempt: int = 1) -> list[int]:
        """Unix-ns times the server began writing each chunk of `attempt` (server_records are in attempt order)."""
        return self.server_records[attempt - 1].chunk_times()


def in_transit(stamps: list[int], writes: list[int], arrivals: list[int]) -> bool:
    """Each stamp lies between its chunk's write (the server's clock) and the app's read of it (the app's clock),
    as it must when a library stamps a chunk while it hands it to the app: an ordering of the data's own times,
    which holds however loaded the machine is (a tolerance in milliseconds does not)."""
    return len(stamps) == len(writes) == len(arrivals) and all(
        written <= stamp <= arrived for stamp, written, arrived in zip(stamps, writes, arrivals, strict=True))


def command(instr: str, scenario: dict[str, Any], otlp: str, *, base_url: str | None, out: str,
            otlp_headers: dict[str, str] | None = None, metrics: bool = False,
            otlp_http: str | None = None) -> list[str]:
    """The run in the library's own virtualenv (tests.support.venvs) or Node.js folder (tests.support.node_apps),
    installed first if it is not cached."""
    program = app_command(instr) if is_node(instr) else [str(python_for(instr)), "-m", "tests.support.instrumented_run"]
    argv = [*program, "--instr", instr, "--scenario", json.dumps(scenario), "--otlp", otlp, "--out", out]
    if otlp_http is not None:
        argv += ["--otlp-http", otlp_http]
    if base_url is not None:
        argv += ["--base-url", base_url]
    for name, value in (otlp_headers or {}).items():
        argv += ["--otlp-header", f"{name}={value}"]
    if metrics:
        argv.append("--metrics")
    return argv


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("OTEL_SEMCONV_STABILITY_OPT_IN", None)  # only the *_latest variants opt in
    return env


def _result(path: Path, server: StreamServer | None) -> RunResult:
    data = json.loads(path.read_text(encoding="utf-8"))
    records = [RequestRecord.from_dict(r) for r in data.pop("server_records")]
    if server is not None:  # the live records: a cancelled stream finishes server-side only after the client left
        try:
            records = server.wait_finished(len(records), key=data["key"], timeout=5)
        except TimeoutError:
            records = server.records(data["key"])
    return RunResult(server_records=records, **data)


def _failure(argv: list[str], code: int | None, stdout: bytes, stderr: bytes) -> RuntimeError:
    return RuntimeError(f"instrumented run failed ({code}): {' '.join(argv[2:6])}\n"
                        f"stdout:\n{stdout.decode(errors='replace')[-2000:]}\nstderr:\n{stderr.decode(errors='replace')[-4000:]}")


def run_instrumented(instr: str, scenario: dict[str, Any], otlp: str, *, server: StreamServer | None = None,
                     timeout: float = RUN_TIMEOUT_S, **options: Any) -> RunResult:
    """Blocking; do not call it from a coroutine whose loop hosts the OTLP receiver (use the async variant)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        argv = command(instr, scenario, otlp, base_url=server.base_url if server else None, out=str(out), **options)
        done = subprocess.run(argv, cwd=REPO_ROOT, env=_env(), capture_output=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise _failure(argv, done.returncode, done.stdout, done.stderr)
        return _result(out, server)


async def run_instrumented_async(instr: str, scenario: dict[str, Any], otlp: str, *,
                                 server: StreamServer | None = None, timeout: float = RUN_TIMEOUT_S,
                                 **options: Any) -> RunResult:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        argv = await asyncio.to_thread(command, instr, scenario, otlp, base_url=server.base_url if server else None,
                                       out=str(out), **options)
        process = await asyncio.create_subprocess_exec(*argv, cwd=REPO_ROOT, env=_env(),
                                                       stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            raise _failure(argv, process.returncode, stdout, stderr)
        # the server wait blocks briefly; keep the loop (and its OTLP receiver) running meanwhile
        return await asyncio.to_thread(_result, out, server)
