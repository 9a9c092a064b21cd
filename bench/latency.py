"""Receipt-to-Kafka-acknowledgement quantiles, read from tokenstream's self-telemetry histogram.

The otlp receiver stamps each request's receipt time on its Batch (`Batch.received_ns`); the kafka exporter
observes acknowledgement - receipt into `tokenstream_exporter_receipt_to_ack_seconds` once the broker has
acknowledged every record made from the batch. Two scrapes (before and after the measured run) give that run's
bucket counts; a quantile is interpolated linearly inside its bucket, as Prometheus' histogram_quantile does.
"""

from __future__ import annotations

import math
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

METRIC = "tokenstream_exporter_receipt_to_ack_seconds"


def scrape(port: int) -> dict[float, float]:
    """Cumulative counts by upper bound (`le`), summed over exporters."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != METRIC:
            continue
        for sample in family.samples:
            if sample.name == f"{METRIC}_bucket":
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """The q-quantile in milliseconds of what was observed between the two scrapes; nan when nothing was."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return math.nan
    rank = q * counts[-1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower_bound * 1000  # beyond the last finite bucket: its bound is all we know
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return (lower_bound + (bound - lower_bound) * share) * 1000
        lower_bound, lower_count = bound, count
    return math.nan


def observed(before: dict[float, float], after: dict[float, float]) -> int:
    return int(after.get(math.inf, 0.0) - before.get(math.inf, 0.0))
