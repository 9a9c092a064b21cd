"""The queued exporters' own metrics, one of each per telemetry registry however many exporters share it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from processor.service.telemetry import shared_counter, shared_histogram

#: Fine below 100 ms, where the latency target lies; quantiles are read from these buckets (bench/latency.py).
RECEIPT_TO_ACK_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.125, 0.15,
                          0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30)


def redelivered_counter(registry: CollectorRegistry) -> Counter:
    return shared_counter(registry, "tokenstream_exporter_redelivered_records",
                          "Records sent again (after a retriable failure, or read back from the on-disk queue at "
                          "start); the topic may hold them twice.", ["exporter", "kind"])


def receipt_to_ack_histogram(registry: CollectorRegistry) -> Histogram:
    return shared_histogram(registry, "tokenstream_exporter_receipt_to_ack_seconds",
                            "From the receiver getting a request to the broker acknowledging every record made "
                            "from it.", ["exporter"], RECEIPT_TO_ACK_BUCKETS)
