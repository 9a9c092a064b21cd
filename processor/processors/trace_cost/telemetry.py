"""The eviction and loss counters, registered once per registry (instances and ids share it, labelled by id)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from processor.service.telemetry import shared_counter


def eviction_counter(registry: CollectorRegistry) -> Counter:
    return shared_counter(
        registry, "tokenstream_trace_cost_early_traces", "Trace cost rollups emitted before their wait ended, "
        "because trace_cost held max_traces; a later record of the trace makes a second rollup.", ["processor"])


def lost_counter(registry: CollectorRegistry) -> Counter:
    return shared_counter(
        registry, "tokenstream_trace_cost_lost_rollups", "Trace cost rollups downstream refused for good, or until "
        "shutdown ran out of time (they are sent again until then).", ["processor"])
