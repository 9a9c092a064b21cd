"""Reference captures of real instrumentations replayed through the stream processor, with the real convention
adapters, checked against the app's own clock (client-events.jsonl).

TTFT: Traceloop's chunk events give it within a millisecond of the app's. OpenInference starts its span 22-56 ms
after create() is called (its wrapper works first), so its TTFT from the span start is that much short of the
app's; its first-token event itself is within a millisecond of the app's first chunk, which is what is checked.
"""

from __future__ import annotations

import pytest

from processor.model.batch import Batch, Signal
from processor.testing import SinkConsumer
from tests.data.realclients import load_capture
from tests.stream.pipeline import default_chain, logs_instance, replay_capture

conventions = pytest.importorskip("processor.conventions")
if not hasattr(conventions, "read_llm_call"):
    pytest.skip("the convention adapters have not landed", allow_module_level=True)

MS = 1_000_000

#: (library, scenario, outcome, truncation_reason, stall_count with stall_gap 1s (None: unknown)).
CASES = [
    ("tl", "normal", "completed", None, 0),
    ("tl", "stall", "completed", None, 1),
    ("tl", "cutoff", "truncated", "cutoff", 0),  # Traceloop ends a cut-off stream with OK: only a cutoff shows
    ("tl", "length", "truncated", "length", 0),
    ("tl", "client_cancel", "truncated", "cutoff", 0),  # OK at close: indistinguishable from a cutoff
    ("tl", "http_500", "error", None, None),
    ("tl_events", "stall", "completed", None, 1),
    ("tl_events", "cutoff", "truncated", "cutoff", 0),
    ("oi", "normal", "completed", None, None),
    ("oi", "stall", "completed", None, None),
    ("oi", "cutoff", "aborted", None, None),
    ("oi", "length", "truncated", "length", None),
    ("oi", "client_cancel", "aborted", None, None),
    ("oi", "http_500", "error", None, None),
    ("v2", "normal", "completed", None, None),
    ("v2", "cutoff", "aborted", None, None),
    ("v2", "length", "truncated", "length", None),  # the finish reason is only in the gen_ai.choice log
    ("v2", "client_cancel", "truncated", "cutoff", None),  # UNSET + "error" in the log: same as a clean EOF
    ("v2", "http_500", "error", None, None),
    ("v2_latest", "length", "truncated", "length", None),
    ("openlit", "normal", "completed", None, None),
    ("openlit", "stall", "completed", None, None),
    ("openlit", "length", "truncated", "length", None),
    ("openlit", "http_500", "error", None, None),
    ("v2_latest", "normal", "completed", None, None),
    ("v2_latest", "cutoff", "aborted", None, None),
    ("tl_events", "normal", "completed", None, 0),
    ("tl_events", "length", "truncated", "length", 0),
    ("lc_oi", "normal", "completed", None, None),
    ("lc_oi", "cutoff", "aborted", None, None),
    ("lc_oi", "client_cancel", "aborted", None, None),  # ERROR GeneratorExit: the consumer closed it
    ("lc_tl", "client_cancel", "aborted", None, None),
    ("lc_tl", "length", "truncated", "length", None),
]


def _client_times(capture) -> tuple[int, int | None]:
    create = capture.client("create_called")[0]["t_unix_nano"]
    chunks = capture.client("chunk_received")
    return create, chunks[0]["t_unix_nano"] if chunks else None


async def replay(capture) -> SinkConsumer:
    return await replay_capture(capture, conventions.select(["auto"]), conventions.read_llm_call)


@pytest.mark.parametrize(("lib", "scenario", "outcome", "reason", "stalls"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
async def test_replayed_capture_gives_the_ground_truth(lib, scenario, outcome, reason, stalls):
    capture = load_capture(lib, scenario)
    sink = await replay(capture)
    (record,) = sink.streams
    assert (record.outcome, record.truncation_reason or None) == (outcome, reason)
    assert (record.stall_count if record.HasField("stall_count") else None) == stalls
    create, first_chunk = _client_times(capture)
    if record.cadence_source in ("chunk_events", "first_token_only"):
        assert abs(record.first_chunk_time_unix_nano - first_chunk) <= 10 * MS
        assert record.ttft_s == pytest.approx((record.first_chunk_time_unix_nano - record.start_time_unix_nano) / 1e9)
    if record.cadence_source == "chunk_events":
        assert abs(record.ttft_s - (first_chunk - create) / 1e9) <= 0.010
    if stalls:
        assert [a.kind for a in sink.anomalies].count("stall") == stalls


@pytest.mark.parametrize("logs_first", [True, False], ids=["log-first", "span-first"])
@pytest.mark.parametrize("scenario", ["normal", "length"])
async def test_openllmetry_choice_log_written_under_the_parent_span_joins_its_call(scenario, logs_first):
    """OpenLLMetry (use_attributes=False) emits a stream's gen_ai.choice log after the LLM span has ended, so it
    carries the parent's span id; it must still reach the call rather than wait in the store until eviction."""
    capture = load_capture("tl_events", scenario)
    shared: dict = {}
    head = default_chain(SinkConsumer(), shared=shared, conventions=conventions.select(["auto"]),
                         read=conventions.read_llm_call)
    logs = logs_instance(shared=shared, conventions=conventions.select(["auto"]), read=conventions.read_llm_call,
                         content_check=False)
    batches = [(logs, Batch(Signal.LOGS, r)) for r in capture.logs]
    batches += [(head, Batch(Signal.TRACES, r)) for r in capture.traces]
    for consumer, batch in batches if logs_first else reversed(batches):
        await consumer.consume(batch)
    (trace,) = shared["store"].pop_all()
    (call,) = trace.calls()
    assert call.completion_text and "Streaming" in call.completion_text
    assert not any(trace.pending_logs.values())
