"""The eviction counters, registered once per registry (several instances and ids share them, labelled by id)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from processor.service.telemetry import shared_counter


def eviction_counters(registry: CollectorRegistry) -> tuple[Counter, Counter]:
    """(traces evicted, by reason; pieces dropped with them, by kind)."""
    evicted = shared_counter(
        registry, "tokenstream_stream_evicted_traces", "Traces stream_reconstruct emitted before their wait ended, "
        "because it held max_traces, the trace held max_trace_pieces, or all traces held max_held_bytes (reason); "
        "later pieces of them are not joined.", ["processor", "reason"])
    dropped = shared_counter(
        registry, "tokenstream_stream_dropped_pieces", "Pieces stream_reconstruct held only to join them later and "
        "gave up with an evicted trace: log records waiting for their span (kind=log), HTTP attempts waiting for "
        "their LLM call (kind=http). They went downstream all the same; only the join is lost.",
        ["processor", "kind"])
    return evicted, dropped
