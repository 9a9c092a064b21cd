"""Idle connections against file descriptors: `tokenstream run` started with a low open-files limit, then more
sockets opened to it than the limit allows, that never send a byte.

- The soft limit can be raised (a shell's `ulimit -n 1024`, the hard limit higher): the process raises it at start,
  and HTTP, gRPC and the health check keep answering while the idle sockets are open.
- It cannot (soft = hard): accepting fails while the descriptors are gone; that is logged once, without a
  traceback, and counted; the idle timeouts close the idle sockets and everything answers again.
"""

from __future__ import annotations

import asyncio
import resource
import time
import urllib.request
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.reliability import sdk
from tests.reliability.figures import Row, record
from tests.reliability.observe import metric_total, scrape, wait_until
from tests.reliability.pipeline import Ports, Topics, default_pipeline, start_tokenstream
from tests.support.abusive_clients import IdleSockets, ensure_open_files

pytestmark = pytest.mark.kafka
ACCEPT_FAILED = "cannot accept"


@dataclass
class Size:
    open_files: int
    idle_sockets: int
    #: With the limit fixed: long enough that the server has accepted all it can before the first are closed (on a
    #: loaded machine it took 4 s to accept a thousand).
    idle_timeout_s: float
    full: bool


FAST = Size(open_files=256, idle_sockets=300, idle_timeout_s=5.0, full=False)
FULL = Size(open_files=1024, idle_sockets=1100, idle_timeout_s=10.0, full=True)


def health(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            return response.status
    except OSError:
        return None


def sdk_exports(ports: Ports) -> list[SpanExportResult]:
    return sdk.export_once_each(ports.grpc, ports.http, sdk.llm_spans(5))


def _idle_on_both(ports: Ports, count: int) -> tuple[IdleSockets, IdleSockets]:
    return IdleSockets(ports.http, count // 2), IdleSockets(ports.grpc, count - count // 2)


async def raisable_limit(size: Size, tmp_path, bootstrap: str) -> None:
    ensure_open_files(size.idle_sockets + 200)
    ports, topics = Ports(), Topics.unique()
    config = default_pipeline(tmp_path, ports, bootstrap, topics)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    process = start_tokenstream(tmp_path, config, ports, open_files=(size.open_files, hard))
    try:
        http_idle, grpc_idle = _idle_on_both(ports, size.idle_sockets)
        with http_idle, grpc_idle:
            await asyncio.sleep(1.0)  # let the server take them all
            started = time.monotonic()
            answers = [health(ports.health), *await asyncio.to_thread(sdk_exports, ports)]
            answered_in = time.monotonic() - started
            closed = http_idle.ended() + grpc_idle.ended()
        logs = process.logs()
        record(Row("idle connections", f"{size.idle_sockets} idle sockets on the OTLP ports, soft open-files limit "
                   f"{size.open_files} (hard {hard})",
                   other={"health, gRPC, HTTP": [getattr(a, "name", a) for a in answers],
                          "answered in (s)": round(answered_in, 1),
                          "idle sockets closed by the server meanwhile": closed,
                          "limit raised": f"to {hard}" in logs}), full_size=size.full)
        assert answers == [200, SpanExportResult.SUCCESS, SpanExportResult.SUCCESS], logs[-3000:]
        assert f"raised the soft limit from {size.open_files} to {hard}" in logs, logs[-3000:]
        assert ACCEPT_FAILED not in logs and "Traceback" not in logs, logs[-3000:]
    finally:
        process.kill()


async def test_idle_sockets_past_a_raisable_limit_fast(tmp_path, kafka_bootstrap):
    await raisable_limit(FAST, tmp_path, kafka_bootstrap)


@pytest.mark.slow
async def test_idle_sockets_past_a_raisable_limit_full(tmp_path, kafka_bootstrap):
    await raisable_limit(FULL, tmp_path, kafka_bootstrap)


async def fixed_limit(size: Size, tmp_path, bootstrap: str) -> None:
    ensure_open_files(size.idle_sockets + 200)
    ports, topics = Ports(), Topics.unique()
    timeout = f"{size.idle_timeout_s}s"
    idle = {"http": {"idle_timeout": timeout},
            "grpc": {"keepalive": {"server_parameters": {"max_connection_idle": timeout}}}}
    config = default_pipeline(tmp_path, ports, bootstrap, topics, **idle)
    process = start_tokenstream(tmp_path, config, ports, open_files=(size.open_files, size.open_files))
    try:
        # All on the HTTP port, whose listener is asyncio's: the descriptors run out within the first burst (gRPC's
        # listener, when it runs out, logs on its own, a line a second at most).
        with IdleSockets(ports.http, size.idle_sockets) as idle:
            closed_in = wait_until(idle.all_ended, timeout=size.idle_timeout_s * 3 + 60)
        recovered_in = wait_until(lambda: health(ports.health) == 200, timeout=60)
        answers = await asyncio.to_thread(sdk_exports, ports)
        failures = metric_total(scrape(ports.metrics), "tokenstream_accept_failures_total")
        logs = process.logs()
        record(Row("idle connections, limit not raisable", f"{size.idle_sockets} idle sockets on the OTLP/HTTP port, "
                   f"open-files limit {size.open_files} (soft = hard), idle timeouts {size.idle_timeout_s:g} s",
                   recovery_s=recovered_in and round(recovered_in, 1),
                   other={"idle sockets closed in (s)": closed_in and round(closed_in, 1),
                          "sockets the backlog had no room for": idle.failed,
                          "gRPC, HTTP after": [a.name for a in answers], "accept failures counted": failures,
                          "accept failures logged": logs.count(ACCEPT_FAILED),
                          "tracebacks logged": logs.count("Traceback")}), full_size=size.full)
        assert process.proc.poll() is None, logs[-3000:]
        assert closed_in is not None and recovered_in is not None, logs[-3000:]
        assert answers == [SpanExportResult.SUCCESS] * 2, logs[-3000:]
        assert logs.count(ACCEPT_FAILED) == 1 and failures >= 1, logs[-3000:]
        assert "Traceback" not in logs, logs[-3000:]
    finally:
        process.kill()


async def test_idle_sockets_past_a_fixed_limit_fast(tmp_path, kafka_bootstrap):
    await fixed_limit(FAST, tmp_path, kafka_bootstrap)


@pytest.mark.slow
async def test_idle_sockets_past_a_fixed_limit_full(tmp_path, kafka_bootstrap):
    await fixed_limit(FULL, tmp_path, kafka_bootstrap)
