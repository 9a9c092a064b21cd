"""Issue 9 end to end: `tokenstream run` on pipelines/default.yaml (ports, paths, topics and a few waits moved by
overrides, as `--set` does) under `tokenstream loadgen --profile mixed`: every user-experience signal shows on
/metrics, on the Kafka topics, and in the streamz view."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.config.loader import load
from processor.loadgen.profiles import WORDS
from processor.model.gen.tokenstream.v1.stream_pb2 import StreamAnomaly, StreamRecord, TraceCost
from processor.testing.process import TokenstreamProcess, free_port
from tests.support.kafka import consume_records, kafka_bootstrap, kafka_topic  # noqa: F401 - fixtures

SIGNALS = ("llm_stream_slo_breached", "llm_stream_feedback_total", "llm_stream_reconnects_total",
           "llm_trace_cost_usd_count")
TOPICS = {"spans": ExportTraceServiceRequest, "streams": StreamRecord, "anomalies": StreamAnomaly,
          "trace_costs": TraceCost}


def _metric_values(text: str) -> dict[str, float]:
    """Metric name -> the largest value among its series (a gauge at 1 on any route counts)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+|NaN)$", line)
        if match and match.group(1) in SIGNALS:
            values[match.group(1)] = max(values.get(match.group(1), 0.0), float(match.group(2)))
    return values


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


@pytest.fixture
def running(tmp_path, kafka_bootstrap, kafka_topic):  # noqa: F811 - the fixtures imported above
    ports = {name: free_port() for name in ("grpc", "http", "prometheus", "health", "streamz", "telemetry")}
    topics = {name: kafka_topic(name) for name in TOPICS}
    config = load(["pipelines/default.yaml"], [
        f"receivers.otlp.protocols.grpc.endpoint=127.0.0.1:{ports['grpc']}",
        f"receivers.otlp.protocols.http.endpoint=127.0.0.1:{ports['http']}",
        f"exporters.prometheus.endpoint=127.0.0.1:{ports['prometheus']}",
        f"exporters.file/streams.path={tmp_path / 'streams.jsonl'}",
        f"exporters.file/anomalies.path={tmp_path / 'anomalies.jsonl'}",
        f"exporters.file/logs.path={tmp_path / 'logs.jsonl'}",
        f"extensions.health_check.endpoint=127.0.0.1:{ports['health']}",
        f"extensions.streamz.endpoint=127.0.0.1:{ports['streamz']}",
        f"service.telemetry.metrics.address=127.0.0.1:{ports['telemetry']}",
        *(f"exporters.kafka.topics.{name}={topic}" for name, topic in topics.items()),
        # Shorter holds and a smaller SLO sample, so that a 12 s run judges every route it can.
        "processors.stream.wait=1s",
        "processors.trace_cost.wait=2s",
        "processors.slo.min_streams=8",
    ], env={"KAFKA_BROKERS": kafka_bootstrap})
    process = TokenstreamProcess(config, tmp_path, health_port=ports["health"]).start()
    try:
        yield process, ports, topics
    finally:
        process.kill()


def test_mixed_load_shows_every_experience_signal_on_metrics_kafka_and_streamz(running, kafka_bootstrap):  # noqa: F811
    process, ports, topics = running
    loadgen = subprocess.run([sys.executable, "-m", "processor", "loadgen", "--endpoint", f"127.0.0.1:{ports['grpc']}",
                              "--profile", "mixed", "--rate", "40", "--duration", "12s", "--seed", "9"],
                             capture_output=True, text=True, timeout=120)
    assert loadgen.returncode == 0, loadgen.stderr
    assert "feedback:" in loadgen.stdout and "reconnect " in loadgen.stdout, loadgen.stdout

    metrics_url = f"http://127.0.0.1:{ports['prometheus']}/metrics"
    deadline, values = time.monotonic() + 30, {}
    while time.monotonic() < deadline:
        values = _metric_values(_get(metrics_url).decode())
        if len(values) == len(SIGNALS) and all(values.values()):
            break
        time.sleep(0.5)
    assert set(values) == set(SIGNALS) and all(values.values()), values
    assert values["llm_stream_slo_breached"] == 1.0

    view = json.loads(_get(f"http://127.0.0.1:{ports['streamz']}/streamz/api/streams?limit=500"))
    assert view["recorded"] > 100
    kinds = {a["kind"] for s in view["streams"] for a in s["anomalies"]}
    assert {"stall", "abort"} <= kinds, kinds
    assert any(a["kind"] == "slow_first_token" for a in view["alerts"]), view["alerts"]
    with_mismatch = json.loads(_get(f"http://127.0.0.1:{ports['streamz']}/streamz/api/streams?anomaly=content_mismatch"))
    assert with_mismatch["matched"] >= 1

    assert process.stop() == 0, process.logs()[-3000:]
    decoded = {name: [TOPICS[name].FromString(r.value) for r in asyncio.run(
        consume_records(kafka_bootstrap, topic, 1, timeout=20))] for name, topic in topics.items()}
    assert all(decoded.values()), {name: len(records) for name, records in decoded.items()}
    assert any(r.reconnect_of for r in decoded["streams"])
    assert any(r.content_mismatch for r in decoded["streams"])
    anomaly_kinds = {a.kind for a in decoded["anomalies"]}
    assert {"slow_first_token", "content_mismatch", "stall", "abort"} <= anomaly_kinds, anomaly_kinds
    # Offsets and hashes, never the text: no two words of loadgen's completions in a row.
    text = re.compile(rf"\b({'|'.join(WORDS)}) ({'|'.join(WORDS)})\b")
    details = [a.detail for a in decoded["anomalies"] if a.kind == "content_mismatch"]
    assert not [d for d in details if text.search(d)] and all("sha256:" in d for d in details), details
    assert sum(c.cost_usd for c in decoded["trace_costs"]) > 0 and any(c.retry_count for c in decoded["trace_costs"])
    assert sum(len(ss.spans) for r in decoded["spans"] for rs in r.resource_spans for ss in rs.scope_spans) > 100
