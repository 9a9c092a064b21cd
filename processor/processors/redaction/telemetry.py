"""The redacted-values counter, registered once per registry (instances share it, labelled by id)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter

_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def redacted_counter(registry: CollectorRegistry) -> Counter:
    counter = _COUNTERS.get(registry)
    if counter is None:
        counter = _COUNTERS[registry] = Counter(
            "tokenstream_redaction_redacted_values", "Attribute and log-body values the redaction processor "
            "dropped or hashed.", ["processor", "signal", "action"], registry=registry)
    return counter
