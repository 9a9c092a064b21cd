"""Self-telemetry of the `stream` processor, registered once per registry (instances and ids share it, labelled
by id)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from processor.service.telemetry import shared_counter


def eviction_counters(registry: CollectorRegistry) -> tuple[Counter, Counter]:
    """(traces evicted, by reason; pieces dropped with them, by kind)."""
    evicted = shared_counter(
        registry, "tokenstream_stream_evicted_traces", "Traces the stream processor emitted before their wait ended, "
        "because it held max_traces, the trace held max_trace_pieces, or all traces held max_held_bytes (reason); "
        "later pieces of them are not joined.", ["processor", "reason"])
    dropped = shared_counter(
        registry, "tokenstream_stream_dropped_pieces", "Pieces the stream processor held only to join them later and "
        "gave up with an evicted trace: log records waiting for their span (kind=log), HTTP attempts waiting for "
        "their LLM call (kind=http). They went downstream all the same; only the join is lost.",
        ["processor", "kind"])
    return evicted, dropped


def content_counters(registry: CollectorRegistry) -> tuple[Counter, Counter]:
    """(streams checked, by processor and result `match`/`mismatch`; streams whose chunk logs were dropped)."""
    return (shared_counter(registry, "tokenstream_content_checked_streams", "Streams whose chunk text was compared "
                           "with the recorded completion, by result.", ["processor", "result"]),
            shared_counter(registry, "tokenstream_content_dropped_chunk_streams", "Streams whose held chunk log "
                           "records were dropped before their check, because the stream processor's content_check "
                           "held max_pending.", ["processor"]))


def lost_counter(registry: CollectorRegistry) -> Counter:
    """Final records the stream processor made, downstream refused, and shutdown gave up (processor.processors.stream
    .resend), by kind (streams, anomalies)."""
    return shared_counter(registry, "tokenstream_stream_lost_records", "Stream records and anomalies the stream "
                          "processor made that downstream refused until shutdown ran out of time (they are sent "
                          "again until then).", ["processor", "kind"])
