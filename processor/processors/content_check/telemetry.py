"""Self-telemetry of content_check, registered once per registry (instances and ids share it, labelled by id)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from processor.service.telemetry import shared_counter


def counters(registry: CollectorRegistry) -> tuple[Counter, Counter]:
    """(streams checked, by processor and result `match`/`mismatch`; streams whose chunk logs were dropped)."""
    return (shared_counter(registry, "tokenstream_content_checked_streams", "Streams whose chunk text was compared "
                           "with the recorded completion, by result.", ["processor", "result"]),
            shared_counter(registry, "tokenstream_content_dropped_chunk_streams", "Streams whose held chunk log "
                           "records were dropped before their check, because content_check held max_pending.",
                           ["processor"]))
