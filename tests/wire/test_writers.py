"""The writers: the compiled output decodes to exactly what the reference's upb edit gives, on generated requests
(unknown fields, odd orders, merges) and real captures; and the reference matches today's processors."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from processor import wire
from processor.component import Kind
from processor.processors.redaction import factory as redaction
from processor.processors.redaction.config import RedactionConfig
from processor.processors.redaction.preset import GENAI_BODY_CONTENT_FIELDS, GENAI_CONTENT_KEYS
from processor.processors.redaction.values import ValueRedactor
from processor.testing import create_settings
from tests.wire import generate
from tests.wire.conftest import EXAMPLES as EXAMPLE_COUNT
from tests.wire.conftest import NATIVE, REFERENCE, needs_native

EXAMPLES = settings(max_examples=EXAMPLE_COUNT, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DATA = Path(__file__).resolve().parents[1] / "data"
TRACE_CAPTURES = sorted(DATA.rglob("traces-*.pb"))
LOG_CAPTURES = sorted(DATA.rglob("logs-*.pb"))


def canonical(data: bytes, logs: bool = False) -> bytes:
    """What the bytes decode to, as one deterministic encoding (unknown fields included)."""
    message_type = ExportLogsServiceRequest if logs else ExportTraceServiceRequest
    return message_type.FromString(data).SerializeToString(deterministic=True)


def both(data: bytes, logs: bool = False):
    scan = "scan_logs" if logs else "scan_traces"
    return getattr(NATIVE, scan)(data, generate.CLAIMS), getattr(REFERENCE, scan)(data, generate.CLAIMS)


def _digest(encoded: bytes) -> str:
    value = AnyValue.FromString(encoded)
    if value.WhichOneof("value") == "string_value":
        return "h:" + hashlib.sha256(value.string_value.encode()).hexdigest()[:12]
    return "h:" + hashlib.sha256(value.SerializeToString(deterministic=True)).hexdigest()[:12]


RULES = {
    "drop": wire.RedactRule.from_keys(block=("k", "secret.key", "gen_ai.*", "token"), allow=("gen_ai.system",)),
    "hash-summary": wire.RedactRule.from_keys(block=("input.value", "llm.*", "k", "redaction.redacted.count"),
                                              digest=_digest, summary=True),
    "patterns-bodies": wire.RedactRule.from_keys(patterns=(r"\.content$", "^http"), allow=("http.status_code",),
                                                 summary=True, body_fields=frozenset({"content", "message", "k"})),
    "hash-bodies": wire.RedactRule.from_keys(block=("event.name", "service.name"), digest=_digest,
                                             body_fields=frozenset({"content", "arguments"})),
}


@needs_native
@EXAMPLES
@given(generate.traces())
def test_by_trace_alike(data):
    native, reference = both(data)
    got, expected = NATIVE.by_trace(native), REFERENCE.by_trace(reference)
    assert [(p.trace_id, p.span_count) for p in got] == [(p.trace_id, p.span_count) for p in expected]
    assert [canonical(p.data) for p in got] == [canonical(p.data) for p in expected]
    valid = sum(native.valid(row) for row in range(len(native)))
    assert sum(p.span_count for p in got) == valid
    for part in got:  # each part holds the spans of one trace only
        assert {s.trace_id for rs in ExportTraceServiceRequest.FromString(part.data).resource_spans
                for ss in rs.scope_spans for s in ss.spans} == {part.trace_id}


@needs_native
@EXAMPLES
@given(generate.traces(), st.randoms(use_true_random=False))
def test_select_and_drop_spans_alike(data, rng):
    native, reference = both(data)
    rows = [row for row in range(len(native)) if rng.random() < 0.5]
    assert canonical(NATIVE.select_spans(native, rows)) == canonical(REFERENCE.select_spans(reference, rows))
    assert canonical(NATIVE.drop_spans(native, rows)) == canonical(REFERENCE.drop_spans(reference, rows))


@needs_native
@EXAMPLES
@given(generate.logs(), st.randoms(use_true_random=False))
def test_drop_logs_alike(data, rng):
    native, reference = both(data, logs=True)
    rows = [row for row in range(len(native)) if rng.random() < 0.5]
    assert canonical(NATIVE.drop_logs(native, rows), True) == canonical(REFERENCE.drop_logs(reference, rows), True)


def _values(rng: random.Random) -> dict:
    pool = [None, True, False, 0, -7, 1 << 62, 0.25, float("nan"), b"\x01\xab", "text", "", ["a", 1, [2.5, False]],
            (), ("x",)]
    keys = [*generate.KEYS, "tokenstream.ttft_s", "tokenstream.chunk_count", "gen_ai.response.finish_reasons"]
    return {rng.choice(keys): rng.choice(pool) for _ in range(rng.randrange(1, 6))}


@needs_native
@EXAMPLES
@given(generate.traces(), st.randoms(use_true_random=False))
def test_add_attributes_alike(data, rng):
    native, reference = both(data)
    additions = {row: _values(rng) for row in range(len(native)) if rng.random() < 0.6}
    got = NATIVE.add_attributes(native, additions)
    assert canonical(got) == canonical(REFERENCE.add_attributes(reference, additions))


@needs_native
@EXAMPLES
@given(generate.traces(), st.sampled_from(sorted(RULES)))
def test_drop_attributes_alike_on_traces(data, rule_name):
    native, reference = both(data)
    got, expected = NATIVE.drop_attributes(native, RULES[rule_name]), REFERENCE.drop_attributes(reference,
                                                                                                 RULES[rule_name])
    assert got.count == expected.count
    assert canonical(got.data) == canonical(expected.data)


@needs_native
@EXAMPLES
@given(generate.logs(), st.sampled_from(sorted(RULES)))
def test_drop_attributes_alike_on_logs(data, rule_name):
    native, reference = both(data, logs=True)
    got, expected = NATIVE.drop_attributes(native, RULES[rule_name]), REFERENCE.drop_attributes(reference,
                                                                                                 RULES[rule_name])
    assert got.count == expected.count
    assert canonical(got.data, True) == canonical(expected.data, True)


def _flat_spans(data: bytes) -> list[tuple[bytes, str, bytes, str, bytes]]:
    """Every span with its own resource and scope entries (and schema urls), in order, each as canonical bytes."""
    return [(rs.resource.SerializeToString(deterministic=True), rs.schema_url,
             ss.scope.SerializeToString(deterministic=True), ss.schema_url, s.SerializeToString(deterministic=True))
            for rs in ExportTraceServiceRequest.FromString(data).resource_spans for ss in rs.scope_spans
            for s in ss.spans]


# Piece boundaries follow each backend's encoded length: the compiled writer copies fields as they came, the
# reference re-serializes through upb (canonical: padded varints and repeated fields shrink), so the cuts may differ
# (rare; this example: 9 native pieces, 8 reference ones). What must agree is what each piece decodes to.
@settings(max_examples=max(10, EXAMPLE_COUNT // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generate.traces(), st.integers(30, 400))
@example(generate.build(ExportTraceServiceRequest.DESCRIPTOR, 157877489), 338)
def test_split_pieces_fit_and_hold_every_span(data, limit):
    backends = list(filter(None, (NATIVE, REFERENCE)))
    indexes = [backend.scan_traces(data, wire.NO_CLAIMS) for backend in backends]
    for backend, index in zip(backends, indexes, strict=True):
        rows = list(range(len(index)))
        pieces = wire.split(index, rows, limit)
        assert sum(count for _, count in pieces) == len(rows)
        for piece, count in pieces:
            assert len(piece) <= limit or count == 1
        assert [span for piece, _ in pieces for span in _flat_spans(piece)] == _flat_spans(data)
        first = 0
        for piece, count in pieces:  # pieces hold consecutive rows: every other backend writes the same contents
            for other, other_index in zip(backends, indexes, strict=True):
                written = other.select_spans(other_index, rows[first:first + count])
                assert canonical(written) == canonical(piece), (backend, other)
            first += count


# -- against today's processors, on real captures (canonical encodings, as SDKs send them)

def _redaction_processor(action: str):
    config = RedactionConfig(action=action, hash_key_env="WIRE_TEST_KEY" if action == "hash" else "")
    return redaction.create(create_settings("redaction", Kind.PROCESSOR), config, None)


@pytest.fixture
def hash_key(monkeypatch):
    monkeypatch.setenv("WIRE_TEST_KEY", "0123456789abcdef0123")


@pytest.mark.parametrize("action", ["drop", "hash"])
@pytest.mark.parametrize("path", TRACE_CAPTURES + LOG_CAPTURES, ids=lambda p: str(p.relative_to(DATA)))
def test_drop_attributes_is_the_redaction_processors_edit(backend, path, action, hash_key):
    """Preset genai_content, as the shipped default: the writer gives what the redaction processor gives today."""
    processor = _redaction_processor(action)
    logs = path.name.startswith("logs")
    data = path.read_bytes()
    values = ValueRedactor(action, b"0123456789abcdef0123" if action == "hash" else None)
    rule = wire.RedactRule.from_keys(block=GENAI_CONTENT_KEYS, body_fields=GENAI_BODY_CONTENT_FIELDS,
                                     digest=(lambda encoded: values.digest(AnyValue.FromString(encoded)))
                                     if action == "hash" else None)
    index = backend.scan_logs(data) if logs else backend.scan_traces(data)
    got = backend.drop_attributes(index, rule)
    request = (ExportLogsServiceRequest if logs else ExportTraceServiceRequest).FromString(data)
    expected_count = processor.redact_logs(request) if logs else processor.redact_traces(request)
    assert got.count == expected_count
    assert canonical(got.data, logs) == request.SerializeToString(deterministic=True)


def test_add_attributes_is_the_stream_enrichment(backend):
    from bench import payloads
    from processor.stream.enrich import add_attributes

    data = payloads.build("llm", variants=1)[0]
    values = {"gen_ai.response.time_to_first_chunk": 0.25, "tokenstream.chunk_count": 97, "tokenstream.stalled": False,
              "gen_ai.request.model": "ignored: the span has it", "tokenstream.cadence_source": "chunk_events",
              "tokenstream.missing": None}
    index = backend.scan_traces(data)
    got = backend.add_attributes(index, {row: values for row in range(0, len(index), 3)})
    request = ExportTraceServiceRequest.FromString(data)
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    for row in range(0, len(index), 3):
        add_attributes(spans[row], values)
    assert canonical(got) == request.SerializeToString(deterministic=True)


def test_by_trace_of_one_whole_trace_is_the_request_as_it_came(backend):
    from bench import payloads

    request = ExportTraceServiceRequest.FromString(payloads.build("mixed", variants=1)[0])
    trace_id = request.resource_spans[0].scope_spans[0].spans[0].trace_id
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                span.trace_id = trace_id
    data = request.SerializeToString()
    parts = backend.by_trace(backend.scan_traces(data))
    assert [(p.trace_id, p.span_count) for p in parts] == [(trace_id, 50)] and parts[0].data is data


def test_a_writer_refuses_an_index_of_other_bytes(backend):
    from bench import payloads

    first, second = payloads.build("plain", variants=2)
    index = backend.scan_traces(first)
    index.buf = second[:100]  # an index is only valid for the bytes it was scanned from
    with pytest.raises((wire.WireError, IndexError, ValueError)):
        backend.drop_spans(index, [0, 40])
