"""Self-telemetry of content_check, registered once per registry (instances and ids share it, labelled by id)."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter

_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, tuple[Counter, Counter]] = weakref.WeakKeyDictionary()


def counters(registry: CollectorRegistry) -> tuple[Counter, Counter]:
    """(streams checked, by processor and result `match`/`mismatch`; streams whose chunk logs were dropped)."""
    pair = _COUNTERS.get(registry)
    if pair is None:
        pair = _COUNTERS[registry] = (
            Counter("tokenstream_content_checked_streams", "Streams whose chunk text was compared with the "
                    "recorded completion, by result.", ["processor", "result"], registry=registry),
            Counter("tokenstream_content_dropped_chunk_streams", "Streams whose held chunk log records were "
                    "dropped before their check, because content_check held max_pending.", ["processor"],
                    registry=registry))
    return pair
