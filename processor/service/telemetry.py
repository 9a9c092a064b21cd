"""tokenstream's own metrics, in the spirit of the Collector's `otelcol_*`, served as Prometheus text.

Every component gets the same `SelfTelemetry` in its CreateSettings and labels what it reports
with its own id. Components with metrics of their own register them on `registry`.
In a worker process prometheus_client runs in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by the
supervisor): every value lives in a file, and the supervisor serves the sum across workers.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_NS = "tokenstream"


class SelfTelemetry:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.receiver_accepted = Counter(
            f"{_NS}_receiver_accepted_spans", "Spans a receiver accepted and handed to its pipeline.",
            ["receiver", "transport"], registry=r)
        self.receiver_refused = Counter(
            f"{_NS}_receiver_refused_spans", "Spans a receiver could not hand to its pipeline.",
            ["receiver", "transport"], registry=r)
        self.receiver_refused_requests = Counter(
            f"{_NS}_receiver_refused_requests", "Export requests refused before they were decoded: "
            "max_in_flight_requests were in flight, a pipeline refused data or had no room to decode the request "
            "(memory_limiter), or a gRPC call came too close to its deadline.",
            ["receiver", "transport"], registry=r)
        self.receiver_refused_connections = Counter(
            f"{_NS}_receiver_refused_connections", "Connections a receiver closed as soon as it accepted them, "
            "because max_connections were open (OTLP/HTTP; gRPC closes them without telling).",
            ["receiver", "transport"], registry=r)
        self.accept_failures = Counter(
            f"{_NS}_accept_failures", "Times a listener could not accept a connection because the process had no "
            "file descriptor left (or the system no memory); it tries again a second later.", ["listener"],
            registry=r)
        self.receiver_accepted_logs = Counter(
            f"{_NS}_receiver_accepted_log_records", "Log records a receiver accepted.",
            ["receiver", "transport"], registry=r)
        self.receiver_refused_logs = Counter(
            f"{_NS}_receiver_refused_log_records", "Log records a receiver could not hand to its pipeline.",
            ["receiver", "transport"], registry=r)
        self.receiver_accepted_points = Counter(
            f"{_NS}_receiver_accepted_metric_points", "Metric data points a receiver accepted.",
            ["receiver", "transport"], registry=r)
        self.receiver_refused_points = Counter(
            f"{_NS}_receiver_refused_metric_points", "Metric data points a receiver could not hand on.",
            ["receiver", "transport"], registry=r)
        self.processor_incoming = Counter(
            f"{_NS}_processor_incoming_items", "Items (spans, log records, points) a processor received.",
            ["processor", "pipeline"], registry=r)
        self.processor_outgoing = Counter(
            f"{_NS}_processor_outgoing_items", "Items a processor passed downstream.",
            ["processor", "pipeline"], registry=r)
        self.processor_refused = Counter(
            f"{_NS}_processor_refused_items", "Items a processor refused (e.g. memory_limiter over its limit).",
            ["processor", "pipeline"], registry=r)
        self.exporter_sent = Counter(
            f"{_NS}_exporter_sent_records", "Records an exporter delivered (acknowledged where the sink acks).",
            ["exporter", "kind"], registry=r)
        self.exporter_failed = Counter(
            f"{_NS}_exporter_send_failed_records", "Records an exporter failed to deliver.",
            ["exporter", "kind"], registry=r)
        self.exporter_dropped = Counter(
            f"{_NS}_exporter_dropped_records", "Records an exporter dropped on purpose (queue full, drop_newest).",
            ["exporter", "kind"], registry=r)
        # With worker processes (multiprocess mode) a gauge is the sum over the workers alive: each has its queue.
        self.queue_size = Gauge(
            f"{_NS}_queue_size", "Records waiting in a component's queue.", ["component"], registry=r,
            multiprocess_mode="livesum")
        self.queue_capacity = Gauge(
            f"{_NS}_queue_capacity", "How many records a component's queue holds at most.", ["component"],
            registry=r, multiprocess_mode="livesum")
        self.export_latency = Histogram(
            f"{_NS}_exporter_delivery_latency_seconds", "From hand-over to the exporter to acknowledgement.",
            ["exporter"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


_OWN_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, Any]] = weakref.WeakKeyDictionary()


def shared_counter(registry: CollectorRegistry, name: str, documentation: str, labels: list[str]) -> Counter:
    """A component's own counter, registered once per registry: every instance of the component (one per pipeline,
    one per id) shares it and labels what it counts with its id."""
    return _shared(registry, name, lambda: Counter(name, documentation, labels, registry=registry))


def shared_histogram(registry: CollectorRegistry, name: str, documentation: str, labels: list[str],
                     buckets: tuple[float, ...]) -> Histogram:
    """As `shared_counter`, for a histogram."""
    return _shared(registry, name, lambda: Histogram(name, documentation, labels, registry=registry, buckets=buckets))


def _shared(registry: CollectorRegistry, name: str, make: Callable[[], Any]) -> Any:
    metrics = _OWN_METRICS.setdefault(registry, {})
    metric = metrics.get(name)
    if metric is None:
        metric = metrics[name] = make()
    return metric


def observe_many(histogram: Any, amount: float, count: int) -> None:
    """`histogram.observe(amount)` `count` times, at the cost of one: a batch of records acknowledged together
    shares its latency, and one observe per record was ~10% of the kafka path on ordinary spans. Written against
    prometheus_client's Histogram child (its `_sum`, `_buckets` and `_upper_bounds`, pinned in pyproject.toml);
    tests/service/test_observe_many.py checks the exposition against `observe` called `count` times."""
    if count <= 0:
        return
    histogram._sum.inc(amount * count)
    for i, bound in enumerate(histogram._upper_bounds):
        if amount <= bound:
            histogram._buckets[i].inc(count)
            break
