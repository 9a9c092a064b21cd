"""The eviction counter, registered once per registry (several instances and ids share it, labelled by id)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter

_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def eviction_counter(registry: CollectorRegistry) -> Counter:
    counter = _COUNTERS.get(registry)
    if counter is None:
        counter = _COUNTERS[registry] = Counter(
            "tokenstream_stream_evicted_traces", "Traces stream_reconstruct emitted before their wait ended, "
            "because it held max_traces; later pieces of them are not joined.", ["processor"], registry=registry)
    return counter
