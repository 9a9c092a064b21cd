"""The scanner: the compiled core and the reference give identical indexes, and refuse the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor import wire
from tests.wire import generate
from tests.wire.conftest import EXAMPLES as EXAMPLE_COUNT
from tests.wire.conftest import NATIVE, REFERENCE, contents, needs_native, outcome

DATA = Path(__file__).resolve().parents[1] / "data"
CAPTURES = sorted(DATA.rglob("*.pb"))
EXAMPLES = settings(max_examples=EXAMPLE_COUNT, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@needs_native
@EXAMPLES
@given(generate.traces())
def test_generated_trace_requests_scan_alike(data):
    expected = outcome(REFERENCE.scan_traces, data, generate.CLAIMS)
    assert expected != "refused", "the generator makes valid requests"
    assert outcome(NATIVE.scan_traces, data, generate.CLAIMS) == expected


@needs_native
@EXAMPLES
@given(generate.logs())
def test_generated_log_requests_scan_alike(data):
    expected = outcome(REFERENCE.scan_logs, data, generate.CLAIMS)
    assert expected != "refused"
    assert outcome(NATIVE.scan_logs, data, generate.CLAIMS) == expected


@needs_native
@EXAMPLES
@given(generate.damaged(generate.traces()))
def test_damaged_trace_requests_are_refused_alike(data):
    assert outcome(NATIVE.scan_traces, data, generate.CLAIMS) == outcome(REFERENCE.scan_traces, data, generate.CLAIMS)


@needs_native
@EXAMPLES
@given(generate.damaged(generate.logs()))
def test_damaged_log_requests_are_refused_alike(data):
    assert outcome(NATIVE.scan_logs, data, generate.CLAIMS) == outcome(REFERENCE.scan_logs, data, generate.CLAIMS)


@settings(max_examples=max(10, EXAMPLE_COUNT // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generate.traces())
def test_offsets_are_the_spans_and_entries_upb_reads(data):
    """Each span's byte range parses to the span upb decodes at that row; each entry's range to its entry."""
    request = ExportTraceServiceRequest.FromString(data)
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    for backend in filter(None, (NATIVE, REFERENCE)):
        index = backend.scan_traces(data, generate.CLAIMS)
        assert len(index) == len(spans)
        for row, span in enumerate(spans):
            assert Span.FromString(index.span_bytes(row)) == span
            assert index.valid(row) == (len(span.trace_id) == 16 and any(span.trace_id) and len(span.span_id) == 8
                                        and any(span.span_id) and len(span.parent_span_id) in (0, 8))
            if index.valid(row):
                assert (index.trace_id(row), index.span_id(row), index.parent_span_id(row)) == (
                    span.trace_id, span.span_id, span.parent_span_id)
        scopes = [ss for rs in request.resource_spans for ss in rs.scope_spans]
        assert index.scope_names == [ss.scope.name for ss in scopes]
        for row in range(index.resource_count):
            start, end = index.resource_start[row], index.resource_end[row]
            assert type(request.resource_spans[0]).FromString(data[start:end]) == request.resource_spans[row]


@settings(max_examples=max(10, EXAMPLE_COUNT // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generate.logs())
def test_log_offsets_are_the_records_upb_reads(data):
    request = ExportLogsServiceRequest.FromString(data)
    records = [log for rl in request.resource_logs for sl in rl.scope_logs for log in sl.log_records]
    for backend in filter(None, (NATIVE, REFERENCE)):
        index = backend.scan_logs(data, generate.CLAIMS)
        assert [LogRecord.FromString(index.log_bytes(row)) for row in range(len(index))] == records
        for row, record in enumerate(records):
            if index.valid(row):
                assert (index.trace_id(row), index.span_id(row)) == (record.trace_id, record.span_id)


@needs_native
@settings(max_examples=max(10, EXAMPLE_COUNT // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generate.traces())
def test_lazy_reads_agree(data):
    native, reference = NATIVE.scan_traces(data, generate.CLAIMS), REFERENCE.scan_traces(data, generate.CLAIMS)
    from tests.wire.conftest import plain

    for resource in range(native.resource_count):
        assert plain(native.resource_attributes(resource)) == plain(reference.resource_attributes(resource))
    for row, claimed in zip(native.claimed_rows, native.claimed, strict=True):
        for event in range(claimed.event_count):
            assert plain(native.event_attributes(row, event)) == plain(reference.event_attributes(row, event))


def test_most_trace_captures_hold_claimed_spans():
    """The comparison below reads LLM spans fully, not only ids: most trace captures hold one (some requests hold
    only the harness's own parent span, exported apart from the library's)."""
    traces = [path for path in CAPTURES if not path.name.startswith("logs")]
    claimed = [path for path in traces
               if contents(REFERENCE.scan_traces(path.read_bytes(), generate.CLAIMS))["claimed"]]
    assert len(claimed) >= 0.75 * len(traces), sorted(set(traces) - set(claimed))


@pytest.mark.parametrize("path", CAPTURES, ids=[str(p.relative_to(DATA)) for p in CAPTURES])
def test_captures_scan_alike(path):
    """Every real capture in tests/data scans identically on both backends, with the adapters' claims."""
    data = path.read_bytes()
    scan = "scan_logs" if path.name.startswith("logs") else "scan_traces"
    reference = contents(getattr(REFERENCE, scan)(data, generate.CLAIMS))
    if NATIVE is not None:
        assert contents(getattr(NATIVE, scan)(data, generate.CLAIMS)) == reference


@settings(max_examples=max(10, EXAMPLE_COUNT // 4), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generate.traces(), generate.traces())
def test_concat_is_the_index_of_the_joined_bytes(first, second):
    for backend in filter(None, (NATIVE, REFERENCE)):
        parts = [backend.scan_traces(first, generate.CLAIMS), backend.scan_traces(second, generate.CLAIMS)]
        joined = wire.TraceIndex.concat(parts)
        assert contents(joined) == contents(backend.scan_traces(first + second, generate.CLAIMS))
        assert joined.event_attributes is not None


def test_plain_spans_are_not_claimed(backend):
    """An ordinary HTTP server span costs only its columns: no ClaimedSpan."""
    from bench import payloads

    data = payloads.build("plain", variants=1)[0]
    index = backend.scan_traces(data, wire.Claims(key_prefixes=("gen_ai.", "llm."), http_client=True))
    assert len(index) == 50 and not index.claimed and not any(index.claim)
    assert all(index.valid(row) for row in range(len(index)))


def test_claimed_llm_span_reads_what_the_adapters_need(backend):
    from bench import payloads

    data = payloads.build("llm", variants=1)[0]
    claims = wire.Claims(key_prefixes=("gen_ai.",), text_event_names=("gen_ai.content.completion.chunk",),
                         text_keys=("gen_ai.completion.chunk",))
    index = backend.scan_traces(data, claims)
    request = ExportTraceServiceRequest.FromString(data)
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert list(index.claimed_rows) == list(range(50))
    for claimed, span in zip(index.claimed, spans, strict=True):
        assert claimed.rules == wire.CLAIM_KEY and claimed.name == span.name
        assert claimed.attributes["gen_ai.request.model"] == span.attributes[3].value.string_value
        chunks = [e.time_unix_nano for e in span.events if e.name == "gen_ai.content.completion.chunk"]
        assert list(claimed.event_times["gen_ai.content.completion.chunk"]) == chunks
        texts = [(e.time_unix_nano, e.attributes[0].value.string_value) for e in span.events
                 if e.name == "gen_ai.content.completion.chunk" and e.attributes]
        assert list(zip(claimed.text_times, claimed.texts, strict=True)) == texts


def test_malformed_request_raises_wire_error_with_upb_prefix(backend):
    with pytest.raises(wire.WireError, match="Error parsing message"):
        backend.scan_traces(b"\x0a\x05abc", wire.NO_CLAIMS)
    with pytest.raises(ValueError):  # a WireError is a ValueError: a 400 / INVALID_ARGUMENT
        backend.scan_logs(b"\x0a\x02\x12\x05", wire.NO_CLAIMS)
