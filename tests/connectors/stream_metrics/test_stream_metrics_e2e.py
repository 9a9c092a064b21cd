"""The stream metrics as OTLP metrics, against the prometheus exporter's `/metrics` for the same seeded loadgen run.

One `tokenstream run`: a traces pipeline feeding the prometheus exporter and three stream_metrics connectors
(cumulative, delta, exponential), each the receiver of a metrics pipeline whose otlp exporter sends to a capturing
OTLP receiver here. Decoded with opentelemetry-proto, the latest cumulative export and the sum of every delta
export give exactly the series, bucket counts, counts and sums Prometheus scrapes.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import subprocess
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from processor.exporters.prometheus.metrics import StreamMetrics
from processor.testing.process import TokenstreamProcess, free_port
from tests.support.otlp_capture import OtlpCapture

STREAM_PROCESSORS = {"stream": {"conventions": ["auto"], "wait": "1s", "cadence": {"stall_gap": "2s"}, "retries": {},
                                "truncation": {}, "cost": {}, "content_check": False},
                     "batch": {"timeout": "20ms"}}
VARIANTS = {"cumulative": {}, "delta": {"temporality": "delta"}, "exponential": {"histogram": "exponential"}}
SEMCONV = {"gen_ai.server.time_to_first_token", "gen_ai.server.time_per_output_token",
           "gen_ai.client.operation.duration", "gen_ai.client.token.usage", "llm.streams"}


def _config(grpc: int, health: int, prometheus: int, sink: str, telemetry: int) -> dict:
    connectors = {f"stream_metrics/{name}": {"interval": "300ms", **extra} for name, extra in VARIANTS.items()}
    exporters = {f"otlp/{name}": {"endpoint": sink, "tls": {"insecure": True}, "headers": {"x-variant": name}}
                 for name in VARIANTS}
    pipelines = {f"metrics/{name}": {"receivers": [f"stream_metrics/{name}"], "exporters": [f"otlp/{name}"]}
                 for name in VARIANTS}
    pipelines["traces"] = {"receivers": ["otlp"], "processors": list(STREAM_PROCESSORS),
                           "exporters": ["prometheus", *connectors]}
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc}"}}}},
        "processors": STREAM_PROCESSORS,
        "exporters": {"prometheus": {"endpoint": f"127.0.0.1:{prometheus}"}, **exporters},
        "connectors": connectors,
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{health}"}},
        "service": {"extensions": ["health_check"], "pipelines": pipelines,
                    "telemetry": {"metrics": {"address": f"127.0.0.1:{telemetry}"}}},
    }


def _scrape(port: int) -> dict:
    """Series of the stream metrics on /metrics: (family, labels) -> histogram (cumulative buckets, count, sum) or
    counter value. Empty labels are dropped (Prometheus reads them as absent)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    names = {family.name for family in _catalogue().values()}
    series: dict = {}
    for family in text_string_to_metric_families(text):
        if family.name not in names:
            continue
        for sample in family.samples:
            labels = frozenset((k, v) for k, v in sample.labels.items() if v and k != "le")
            entry = series.setdefault((family.name, labels), {})
            if sample.name.endswith("_bucket"):
                entry.setdefault("buckets", []).append(sample.value)
            elif sample.name.endswith("_count"):
                entry["count"] = sample.value
            elif sample.name.endswith("_sum"):
                entry["sum"] = sample.value
            else:
                entry["value"] = sample.value
    return series


def _catalogue() -> dict:
    metrics = StreamMetrics(namespace=None, const_labels={}, limit=10, ttl=60, on_overflow=lambda _: None)
    return {family.otel_name: family for family in metrics.families()}


def _labels(point) -> frozenset:
    return frozenset((kv.key.replace(".", "_"), kv.value.string_value) for kv in point.attributes)


def _otlp_series(requests, *, add: bool) -> dict:
    """The same shape from OTLP requests: the last value of each series, or (delta) the sum over requests."""
    catalogue = _catalogue()
    series: dict = {}
    for request in requests:
        for metric in request.resource_metrics[0].scope_metrics[0].metrics:
            family = catalogue[metric.name]
            kind = metric.WhichOneof("data")
            for point in getattr(metric, kind).data_points:
                key = (family.name, _labels(point))
                if kind == "histogram":
                    value = {"buckets": list(itertools.accumulate(point.bucket_counts)), "count": point.count,
                             "sum": point.sum}
                elif kind == "exponential_histogram":
                    value = {"count": point.count, "sum": point.sum}
                else:
                    value = {"value": point.as_double}
                before = series.get(key)
                if add and before is not None:
                    value = {k: _add(before[k], v) for k, v in value.items()}
                series[key] = value
    return series


def _add(a, b):
    return [x + y for x, y in zip(a, b, strict=True)] if isinstance(a, list) else a + b


def _close(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if x.keys() != y.keys():
            return False
        for field in x:
            u, v = x[field], y[field]
            if isinstance(u, list):
                if u != v:
                    return False
            elif not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9):
                return False
    return True


async def test_otlp_metrics_match_the_prometheus_scrape_in_every_temporality(tmp_path):
    grpc, health, prometheus, telemetry = (free_port() for _ in range(4))
    async with OtlpCapture() as sink:
        config = _config(grpc, health, prometheus, sink.endpoint, telemetry)
        process = await asyncio.to_thread(TokenstreamProcess(config, tmp_path, health_port=health).start)
        try:
            for seed in (11, 12):  # two runs, seconds apart: the same label sets change in several delta sends
                loadgen = await asyncio.to_thread(
                    subprocess.run, [sys.executable, "-m", "processor", "loadgen", "--endpoint", f"127.0.0.1:{grpc}",
                                     "--rate", "40", "--duration", "1500ms", "--profile", "mixed", "--seed", str(seed)],
                    capture_output=True, text=True, timeout=120)
                assert loadgen.returncode == 0, loadgen.stderr
                await _settled(prometheus)
            scrape = await _settled(prometheus)
            await asyncio.sleep(1.5)  # five more sends of each connector, with nothing new to add
            by_variant = {name: [c.request for c in sink.requests if c.signal == "metrics"
                                 and c.metadata.get("x-variant") == name] for name in VARIANTS}
            cumulative = _otlp_series(by_variant["cumulative"][-1:], add=False)
            delta = _otlp_series(by_variant["delta"], add=True)
            exponential = _otlp_series(by_variant["exponential"][-1:], add=False)
        finally:
            await asyncio.to_thread(process.stop)
    assert sum(v["value"] for (name, _), v in scrape.items() if name == "llm_streams") >= 60
    assert {m.name for m in by_variant["cumulative"][-1].resource_metrics[0].scope_metrics[0].metrics} >= SEMCONV
    assert _close(scrape, cumulative), _diff(scrape, cumulative)
    assert _close(scrape, delta), _diff(scrape, delta)
    assert len(by_variant["delta"]) >= 2  # the run's streams arrived over several sends
    histograms = {key: {"count": v["count"], "sum": v["sum"]} for key, v in scrape.items() if "buckets" in v}
    counters = {key: v for key, v in scrape.items() if "buckets" not in v}
    assert _close({**histograms, **counters}, exponential), _diff({**histograms, **counters}, exponential)


async def _settled(port: int, *, timeout: float = 60.0) -> dict:
    """The scrape once the stream count has stopped moving (the stream processors hold each trace ~1 s)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        await asyncio.sleep(1.5)
        scrape = await asyncio.to_thread(_scrape, port)
        total = sum(v.get("value", 0) for (name, _), v in scrape.items() if name == "llm_streams")
        if total and total == last:
            return scrape
        last = total
    raise TimeoutError("the stream count did not settle")


def _diff(expected: dict, got: dict) -> str:
    lines = [f"missing: {sorted(map(str, expected.keys() - got.keys()))[:5]}",
             f"extra: {sorted(map(str, got.keys() - expected.keys()))[:5]}"]
    lines += [f"{key}: {expected[key]} != {got[key]}" for key in expected.keys() & got.keys()
              if not _close({key: expected[key]}, {key: got[key]})][:5]
    return "\n".join(lines)

