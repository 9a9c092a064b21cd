"""Debian's `prometheus` scrapes the exporter; PromQL p95 TTFT by route equals what the known input implies."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time

import aiohttp
import pytest

TTFT_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
P95_BY_ROUTE = ("histogram_quantile(0.95, sum by (le, route) "
                "(rate(gen_ai_server_time_to_first_token_seconds_bucket[1m])))")
# 21 streams per route (so 0.95 x 21 falls between two counts), over two models each.
KNOWN_TTFT = {
    "/chat": [0.012, 0.015, 0.03, 0.045, 0.05, 0.07, 0.09, 0.2, 0.3, 0.6, 0.011, 0.019, 0.035, 0.041, 0.055,
              0.058, 0.065, 0.085, 0.12, 0.4, 0.9],
    "/search": [0.3, 0.35, 0.6, 0.8, 1.1, 1.4, 2.0, 2.2, 3.0, 4.0, 0.4, 0.45, 0.7, 0.9, 1.2, 1.6, 1.9, 2.4, 2.6,
                6.0, 8.0],
}
MODELS = ("model-a", "model-b")
# Warm-up streams per series, below the first bucket: every bucket then starts well above zero, so
# Prometheus extrapolates all buckets of a series alike and the quantile is exactly the known input's.
WARM_UP = 1000


def expected_quantile(q: float, values: list[float], bounds: list[float]) -> float:
    """Prometheus' classic-histogram rule: find the bucket holding rank q*n, interpolate linearly within it."""
    cumulative = [sum(v <= b for v in values) for b in bounds]
    rank = q * len(values)
    for i, count in enumerate(cumulative):
        if count >= rank:
            start, below = (bounds[i - 1], cumulative[i - 1]) if i else (0.0, 0)
            return start + (bounds[i] - start) * (rank - below) / (count - below)
    return bounds[-1]  # in the +Inf bucket: the highest finite bound


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the prometheus binary is missing; .ci/run installs Debian's prometheus package")
        pytest.skip("no prometheus binary (apt-get install -y prometheus)")
    return binary


@pytest.fixture
async def prometheus_server(prometheus_binary, tmp_path):
    """`url = await start(target_port)`: a prometheus scraping 127.0.0.1:target_port every second."""
    processes = []

    async def start(target_port: int) -> str:
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: tokenstream\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n")
        port = _free_port()
        log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed with the process below
        process = await asyncio.create_subprocess_exec(
            prometheus_binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", stdout=log, stderr=log)
        processes.append((process, log))
        url = f"http://127.0.0.1:{port}"
        await _until(lambda: _get_ok(f"{url}/-/ready"), "prometheus to be ready", tmp_path)
        return url

    yield start
    for process, log in processes:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def _get_ok(url: str) -> bool:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session, \
                session.get(url) as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def _until(check, what: str, tmp_path, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.25)
    log = (tmp_path / "prometheus.log").read_text(errors="replace")[-3000:]
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; prometheus log:\n{log}")


async def _query(url: str, promql: str) -> dict[str, float]:
    """An instant query's result as {route: value}."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session, \
            session.get(f"{url}/api/v1/query", params={"query": promql}) as response:
        body = await response.json()
    assert body["status"] == "success", body
    return {item["metric"].get("route", ""): float(item["value"][1]) for item in body["data"]["result"]}


async def test_p95_ttft_by_route_from_a_real_prometheus(start_exporter, prometheus_server, make_stream,
                                                        make_batch, tmp_path):
    exporter = await start_exporter()
    url = await prometheus_server(exporter.port)

    def streams(route, model, ttfts):
        return [make_stream(provider="openai", response_model=model, route=route, tenant="acme", ttft_s=t,
                            outcome="completed") for t in ttfts]

    await exporter.consume(make_batch([s for route in KNOWN_TTFT for model in MODELS
                                       for s in streams(route, model, [0.0005] * WARM_UP)]))
    warm = {route: float(WARM_UP * len(MODELS)) for route in KNOWN_TTFT}
    counts = "sum by (route) (gen_ai_server_time_to_first_token_seconds_count)"

    async def scraped(expected):
        return await _query(url, counts) == expected

    await _until(lambda: scraped(warm), "the warm-up to be scraped", tmp_path)

    for route, ttfts in KNOWN_TTFT.items():  # half of each route's streams on each model
        split = streams(route, MODELS[0], ttfts[::2]) + streams(route, MODELS[1], ttfts[1::2])
        await exporter.consume(make_batch(split))
    await _until(lambda: scraped({r: warm[r] + len(v) for r, v in KNOWN_TTFT.items()}), "the known input", tmp_path)

    p95 = await _query(url, P95_BY_ROUTE)
    expected = {route: expected_quantile(0.95, ttfts, TTFT_BOUNDS) for route, ttfts in KNOWN_TTFT.items()}
    assert p95.keys() == expected.keys()
    for route in expected:
        assert p95[route] == pytest.approx(expected[route], rel=1e-9), route
    assert expected["/chat"] != expected["/search"]
