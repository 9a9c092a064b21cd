"""The Grafana dashboard and the alert rules read only metrics that a live prometheus exporter serves."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from tests.deploy.helpers import CHART, ROOT, by_kind, render_documents
from tests.deploy.promql import exposed_names, metric_names

DASHBOARD = CHART / "files" / "dashboard.json"


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def _rule_queries() -> list[str]:
    values = yaml.safe_load((CHART / "ci" / "deployment-monitoring-values.yaml").read_text())
    groups = by_kind(render_documents(values), "PrometheusRule")[0]["spec"]["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scrape(url: str, process: subprocess.Popen, deadline_s: float = 30.0) -> str:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"tokenstream run exited with {process.returncode}:\n{process.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {deadline_s}s")


@pytest.fixture(scope="module")
def live_metrics(tmp_path_factory) -> set[str]:
    """Sample names from /metrics of `tokenstream run` with the prometheus exporter on a free loopback port."""
    port = _free_port()
    config = tmp_path_factory.mktemp("dashboard") / "config.yaml"
    config.write_text(yaml.safe_dump({
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"},
                                             "http": {"endpoint": "127.0.0.1:0"}}}},
        "exporters": {"prometheus": {"endpoint": f"127.0.0.1:{port}"}},
        "service": {"telemetry": {"metrics": {"level": "none"}},
                    "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["prometheus"]}}},
    }))
    process = subprocess.Popen([sys.executable, "-m", "processor", "run", "--config", str(config)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield exposed_names(_scrape(f"http://127.0.0.1:{port}/metrics", process))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_dashboard_covers_the_stream_and_self_telemetry_signals():
    read = set().union(*map(metric_names, _dashboard_queries()))
    assert {"gen_ai_server_time_to_first_token_seconds_bucket", "gen_ai_server_time_per_output_token_seconds_bucket",
            "llm_streams_total", "llm_stream_stalls_total", "llm_stream_truncations_total",
            "llm_stream_retries_after_first_chunk_total", "llm_stream_cost_usd_total",
            "tokenstream_receiver_accepted_spans_total", "tokenstream_receiver_refused_spans_total"} <= read


@pytest.mark.parametrize("source", ["dashboard", "alert rules"])
def test_every_query_names_only_metrics_the_exporter_serves(source, live_metrics):
    queries = _dashboard_queries() if source == "dashboard" else _rule_queries()
    unknown = {name: query for query in queries for name in metric_names(query) if name not in live_metrics}
    assert not unknown, f"{source} read metrics that /metrics does not serve: {sorted(unknown)}"
