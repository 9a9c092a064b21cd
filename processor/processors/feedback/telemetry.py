"""The dropped-feedback counter, registered once per registry (instances and ids share it, labelled by id)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from processor.service.telemetry import shared_counter


def dropped_counter(registry: CollectorRegistry) -> Counter:
    return shared_counter(
        registry, "tokenstream_feedback_dropped", "Feedback not counted, by reason: no_verdict (no readable score or "
        "thumbs), unjoined (no stream found within pending_wait), evicted (over max_pending).", ["processor", "reason"])
