"""The eviction counter, registered once per registry (instances and ids share it, labelled by id)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter

_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def eviction_counter(registry: CollectorRegistry) -> Counter:
    counter = _COUNTERS.get(registry)
    if counter is None:
        counter = _COUNTERS[registry] = Counter(
            "tokenstream_reconnect_evicted_sessions", "Broken streams reconnect forgot before their "
            "reconnect_window ended, because it held max_sessions; a reconnect to them is not seen.",
            ["processor"], registry=registry)
    return counter
