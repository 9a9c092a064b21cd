"""The dropped-feedback counter, registered once per registry (instances and ids share it, labelled by id)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter

_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def dropped_counter(registry: CollectorRegistry) -> Counter:
    counter = _COUNTERS.get(registry)
    if counter is None:
        counter = _COUNTERS[registry] = Counter(
            "tokenstream_feedback_dropped", "Feedback not counted, by reason: no_verdict (no readable score or "
            "thumbs), unjoined (no stream found within pending_wait), evicted (over max_pending).",
            ["processor", "reason"], registry=registry)
    return counter
