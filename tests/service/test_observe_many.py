"""observe_many must leave a histogram as `observe` called that many times would: the same bucket counts and
count, the same sum (up to float rounding: one product against many additions)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram

from processor.service.telemetry import observe_many

_BUCKETS = (0.001, 0.01, 0.1, 1.0)


def _samples(calls) -> dict[str, float]:
    registry = CollectorRegistry()
    histogram = Histogram("latency_seconds", "test", ["exporter"], registry=registry, buckets=_BUCKETS)
    child = histogram.labels("kafka")
    for call in calls:
        call(child)
    return {f"{sample.name}{sorted(sample.labels.items())}": sample.value
            for metric in registry.collect() for sample in metric.samples if not sample.name.endswith("_created")}


def _same(many: dict[str, float], repeated: dict[str, float]) -> None:
    assert many.keys() == repeated.keys()
    for name, value in repeated.items():
        assert many[name] == pytest.approx(value, rel=1e-12), name


@pytest.mark.parametrize("amount", [0.0, 0.001, 0.0042, 0.5, 1.0, 7.0])
@pytest.mark.parametrize("count", [0, 1, 3, 250])
def test_same_as_repeated_observe(amount: float, count: int) -> None:
    _same(_samples([lambda child: observe_many(child, amount, count)]),
          _samples([lambda child: [child.observe(amount) for _ in range(count)]]))


def test_adds_to_what_was_observed_before() -> None:
    many = _samples([lambda child: child.observe(0.02), lambda child: observe_many(child, 0.2, 4)])
    _same(many, _samples([lambda child: [child.observe(value) for value in (0.02, 0.2, 0.2, 0.2, 0.2)]]))
    assert many["latency_seconds_bucket[('exporter', 'kafka'), ('le', '1.0')]"] == 5
    assert many["latency_seconds_bucket[('exporter', 'kafka'), ('le', '0.1')]"] == 1
