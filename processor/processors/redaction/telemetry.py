"""The redacted-values counter, registered once per registry (instances share it, labelled by id)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from processor.service.telemetry import shared_counter


def redacted_counter(registry: CollectorRegistry) -> Counter:
    return shared_counter(
        registry, "tokenstream_redaction_redacted_values", "Attribute and log-body values the redaction processor "
        "dropped or hashed.", ["processor", "signal", "action"])
