"""The queued exporters' own metrics, one of each per telemetry registry however many exporters share it."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Histogram

_redelivered: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def redelivered_counter(registry: CollectorRegistry) -> Counter:
    if registry not in _redelivered:
        _redelivered[registry] = Counter(
            "tokenstream_exporter_redelivered_records",
            "Records sent again (after a retriable failure, or read back from the on-disk queue at start); "
            "the topic may hold them twice.", ["exporter", "kind"], registry=registry)
    return _redelivered[registry]


_receipt_to_ack: weakref.WeakKeyDictionary[CollectorRegistry, Histogram] = weakref.WeakKeyDictionary()
#: Fine below 100 ms, where the latency target lies; quantiles are read from these buckets (bench/latency.py).
RECEIPT_TO_ACK_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.125, 0.15,
                          0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30)


def receipt_to_ack_histogram(registry: CollectorRegistry) -> Histogram:
    if registry not in _receipt_to_ack:
        _receipt_to_ack[registry] = Histogram(
            "tokenstream_exporter_receipt_to_ack_seconds",
            "From the receiver getting a request to the broker acknowledging every record made from it.",
            ["exporter"], registry=registry, buckets=RECEIPT_TO_ACK_BUCKETS)
    return _receipt_to_ack[registry]
