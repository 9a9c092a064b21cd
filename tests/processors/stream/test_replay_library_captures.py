"""The captures of every library the harness runs (tests/data/realclients/<library>/<scenario>, made by
`python -m tests.support.capture_library`) replayed through the stream processor, checked
against what the library's export lets us know (tests.support.harness_expectations) and the app's own clock.

These captures are the before/after golden data of the stream core: a rewrite must give the same records.
"""

from __future__ import annotations

import pytest

from processor import conventions
from tests.data.realclients import HARNESS_LIBRARIES, load_capture, scenarios
from tests.stream.pipeline import replay_capture
from tests.support.harness_expectations import FIRST_CHUNK_UNKNOWN, LIBRARIES, NO_RECORD, first_chunk_window
from tests.support.harness_scenarios import SCENARIOS

MS = 1_000_000
FOLDER = {lib: folder for folder, lib in HARNESS_LIBRARIES.items()}
CASES = [(lib, scenario) for lib in HARNESS_LIBRARIES.values() for scenario in scenarios(FOLDER[lib])]


async def _records(lib: str, scenario: str):
    capture = load_capture(FOLDER[lib], scenario)
    sink = await replay_capture(capture, conventions.select(["auto"]), conventions.read_llm_call)
    return capture, sorted(sink.streams, key=lambda r: r.start_time_unix_nano), sink.anomalies


def _field(record, name):
    return getattr(record, name) if record.HasField(name) else None


def _first_arrival(capture, attempt: int = 1) -> int | None:
    chunks = [e for e in capture.client("chunk_received") if e.get("attempt") == attempt]
    return chunks[0]["t_unix_nano"] if chunks else None


@pytest.mark.parametrize(("lib", "scenario"), CASES)
async def test_a_capture_sent_as_bytes_gives_what_it_gives_decoded(lib, scenario):
    """The adapters read the scan's LlmSpan of a batch of bytes as they read a decoded span: same records, same
    anomalies, same enriched spans."""
    as_bytes, decoded = [await replay_capture(load_capture(FOLDER[lib], scenario), conventions.select(["auto"]),
                                              conventions.read_llm_call, as_bytes=encoded) for encoded in (True, False)]
    assert as_bytes.streams == decoded.streams
    assert as_bytes.anomalies == decoded.anomalies
    assert [b.request for b in as_bytes.batches] == [b.request for b in decoded.batches]


def test_every_library_of_the_harness_has_every_scenario_captured():
    for folder in HARNESS_LIBRARIES:
        assert scenarios(folder) == sorted(SCENARIOS), folder


SINGLE_CALL = [(lib, scenario) for lib, scenario in CASES if scenario != "retry"]


@pytest.mark.parametrize(("lib", "scenario"), SINGLE_CALL, ids=[f"{lib}-{scenario}" for lib, scenario in SINGLE_CALL])
async def test_replayed_library_capture_gives_one_record_with_the_outcome_the_export_tells(lib, scenario):
    capture, records, anomalies = await _records(lib, scenario)
    spec = LIBRARIES[lib]
    expected = spec.expected(scenario)
    assert len(records) == (0 if expected is NO_RECORD else 1), [r.span_id.hex() for r in records]
    if expected is NO_RECORD:
        return
    (record,) = records
    assert (record.outcome, _field(record, "truncation_reason")) == expected
    assert _field(record, "ambiguous_outcome") == spec.ambiguous.get(scenario)
    measured = spec.first_chunk and (lib, scenario) not in FIRST_CHUNK_UNKNOWN
    if measured and record.HasField("first_chunk_time_unix_nano"):
        writes = [e["t_unix_nano"] for e in capture.server("chunk_sent") if e["kind"] == "role"]
        low, high = first_chunk_window(writes, _first_arrival(capture), spec.tolerance_ms)
        assert low <= record.first_chunk_time_unix_nano <= high
    if spec.first_chunk == "chunk_events":
        gaps = capture.client("chunk_received")
        times = [e["t_unix_nano"] for e in gaps]
        stalls = sum(b - a >= 1e9 for a, b in zip(times, times[1:], strict=False))
        assert record.stall_count == stalls == (1 if scenario == "stall" else 0)
        assert [a.kind for a in anomalies].count("stall") == stalls
    else:
        assert not record.HasField("stall_count")


@pytest.mark.parametrize("lib", list(HARNESS_LIBRARIES.values()))
async def test_replayed_app_level_retry(lib):
    _, records, anomalies = await _records(lib, "retry")
    count, flagged = LIBRARIES[lib].retry
    assert len(records) == count
    retry = records[-1]
    assert retry.outcome == "completed"
    assert bool(_field(retry, "retried_after_partial")) is flagged
    if flagged:
        assert retry.attempt == 1
        partial = records[0].span_id if count == 2 else retry.partial_attempt_span_id
        assert retry.partial_attempt_span_id == partial and partial
        assert any(a.kind == "retry_after_partial" for a in anomalies)


async def test_logfire_request_and_streaming_response_spans_are_one_record():
    capture, (record,), _ = await _records("logfire", "normal")
    request = next(s for s, _, _ in capture.spans() if s.name.startswith("Chat Completion"))
    stream = next(s for s, _, _ in capture.spans() if s.name.startswith("streaming response"))
    assert record.span_id == request.span_id
    assert (record.start_time_unix_nano, record.end_time_unix_nano) == (request.start_time_unix_nano,
                                                                        stream.end_time_unix_nano)
    assert (record.finish_reason, record.output_tokens) == ("stop", 8)
    assert not record.HasField("ttft_s"), "Logfire marks no first chunk"


@pytest.mark.parametrize("lib", ["vercel6", "vercel7", "vercel7_legacy"])
async def test_vercel_wrappers_and_the_provider_call_are_one_record_from_the_apps_call(lib):
    capture, (record,), _ = await _records(lib, "normal")
    spans = {s.span_id: s for s, _, _ in capture.spans()}
    outermost = min((s for s in spans.values() if s.name != "harness.scenario"), key=lambda s: s.start_time_unix_nano)
    assert record.start_time_unix_nano == outermost.start_time_unix_nano
    assert spans[record.span_id].name in ("ai.streamText.doStream", "chat gpt-4o-mini")
    assert spans[record.parent_span_id].name == "harness.scenario"


async def test_vercel6_sdk_retry_is_one_record_whose_ttft_includes_the_failed_attempt():
    capture, (record,), _ = await _records("vercel6", "sdk_retry")
    assert (record.http_attempts, record.ttft_includes_retry) == (2, True)
    create = capture.client("create_called")[0]["t_unix_nano"]
    assert abs(record.ttft_s * 1e9 - (_first_arrival(capture) - create)) <= 300 * MS  # streamText's own set-up


async def test_openlit_ttft_counts_from_the_call_once_anchored_at_its_httpx_span():
    capture, (record,), _ = await _records("openlit", "sdk_retry")
    assert (record.http_attempts, record.ttft_includes_retry) == (2, True)
    create = capture.client("create_called")[0]["t_unix_nano"]
    assert abs(record.ttft_s * 1e9 - (_first_arrival(capture) - create)) <= 50 * MS


async def test_mlflow_chunk_events_are_full_cadence_in_a_trace_of_its_own():
    capture, (record,), _ = await _records("mlflow", "stall")
    assert record.cadence_source == "chunk_events"
    assert record.chunk_count == len(capture.client("chunk_received"))
    assert not record.parent_span_id  # MLflow's span roots its own trace


async def test_mlflow_retry_loop_inside_an_mlflow_span_ties_its_attempts():
    """The app's retry loop runs in `mlflow.start_span`: both calls are children of that span, in its trace, so the
    retry is found as any other library's."""
    capture, (partial, retry), _ = await _records("mlflow", "retry")
    app = next(s for s, _, _ in capture.spans() if s.name == "harness.app")
    assert {partial.parent_span_id, retry.parent_span_id} == {app.span_id}
    assert {partial.trace_id, retry.trace_id} == {app.trace_id}
    assert (partial.outcome, retry.partial_attempt_span_id) == ("aborted", partial.span_id)
