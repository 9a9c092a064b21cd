"""The eviction counter, registered once per registry (instances and ids share it, labelled by id)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter

_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def eviction_counter(registry: CollectorRegistry) -> Counter:
    counter = _COUNTERS.get(registry)
    if counter is None:
        counter = _COUNTERS[registry] = Counter(
            "tokenstream_trace_cost_early_traces", "Trace cost rollups emitted before their wait "
            "ended, because trace_cost held max_traces; a later record of the trace makes a second rollup.",
            ["processor"], registry=registry)
    return counter
