"""The eviction counter, registered once per registry (instances and ids share it, labelled by id)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from processor.service.telemetry import shared_counter


def eviction_counter(registry: CollectorRegistry) -> Counter:
    return shared_counter(
        registry, "tokenstream_reconnect_evicted_sessions", "Broken streams reconnect forgot before their "
        "reconnect_window ended, because it held max_sessions; a reconnect to them is not seen.", ["processor"])
