"""The eviction counter, registered once per registry (several instances and ids share it, labelled by id)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from processor.service.telemetry import shared_counter


def eviction_counter(registry: CollectorRegistry) -> Counter:
    return shared_counter(
        registry, "tokenstream_stream_evicted_traces", "Traces stream_reconstruct emitted before their wait ended, "
        "because it held max_traces; later pieces of them are not joined.", ["processor"])
