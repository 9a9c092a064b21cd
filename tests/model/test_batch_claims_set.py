"""A batch whose index the receiver scanned with its pipelines' claims (a ClaimsSet) answers each member's
`index` and `may_hold` from that one index, as a scan with the member alone would; merges, added attributes and
writers' output keep every answer right."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench import payloads
from processor import wire
from processor.model.batch import Batch
from processor.processors.stream.reading import CLAIMS
from tests.wire.conftest import contents

FEEDBACK = wire.Claims(event_names=("gen_ai.feedback", "user.feedback"))
PIPELINE = wire.ClaimsSet((CLAIMS, FEEDBACK))
REQUESTS = payloads.build("mixed", variants=3) + payloads.build("llm", variants=2) + payloads.build("plain", variants=2)


def _with_feedback(data: bytes) -> bytes:
    """The request with a feedback event on its second span (so that FEEDBACK claims a row, unlike CLAIMS)."""
    request = ExportTraceServiceRequest.FromString(data)
    request.resource_spans[0].scope_spans[0].spans[1].events.add(name="user.feedback", time_unix_nano=1)
    return request.SerializeToString()


@pytest.fixture
def scans(monkeypatch) -> list:
    """The claims of every scan the batch makes from here on."""
    made: list = []
    scan = wire.scan_traces

    def counted(data, claims=wire.NO_CLAIMS):
        made.append(claims)
        return scan(data, claims)

    monkeypatch.setattr(wire, "scan_traces", counted)
    return made


def _backend():
    """The backend that `wire.scan_traces` runs (TOKENSTREAM_PURE_PYTHON=1: the reference), unpatched."""
    return wire.reference_backend() if wire.IMPLEMENTATION == "reference" else wire.native_backend()


def _received(data: bytes) -> Batch:
    return Batch.of_bytes(data, wire.scan_traces(data, PIPELINE))


@pytest.mark.parametrize("data", [*REQUESTS, _with_feedback(REQUESTS[0])])
def test_each_member_is_answered_without_a_scan(data, scans):
    batch = _received(data)
    del scans[:]
    for claims in (CLAIMS, FEEDBACK):
        expected = _backend().scan_traces(data, claims)
        assert contents(batch.index(claims)) == contents(expected)
        assert batch.may_hold(claims) == bool(expected.claimed_rows)
    assert batch.index().ids == _backend().scan_traces(data).ids
    assert scans == [], "the receiver's one scan answers every member"


def test_claims_not_in_the_set_are_scanned_for(scans):
    batch = _received(REQUESTS[0])
    del scans[:]
    other = wire.Claims(key_prefixes=("llm.",))
    assert contents(batch.index(other)) == contents(_backend().scan_traces(REQUESTS[0], other))
    assert scans == [other]


def test_a_merged_batch_answers_each_member_for_the_joined_bytes(scans):
    parts = [_received(data) for data in (_with_feedback(REQUESTS[0]), *REQUESTS[1:])]
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    del scans[:]
    joined = merged.data
    for claims in (CLAIMS, FEEDBACK):
        assert contents(merged.index(claims)) == contents(_backend().scan_traces(joined, claims))
    assert scans == []


def test_added_attributes_and_a_writers_output_are_scanned_again(scans):
    """An index describes only the bytes it was scanned from: after an edit, each claims is read from the new
    bytes (scanned for on its own, as before the set)."""
    data = _with_feedback(REQUESTS[0])
    batch = _received(data)
    index = batch.index(CLAIMS)
    row = index.claimed_rows[0]
    batch.add_span_attributes(index.trace_id(row), index.span_id(row), {"tokenstream.chunk_count": 3})
    edited = batch.data
    assert edited != data
    for claims in (FEEDBACK, CLAIMS):
        assert contents(batch.index(claims)) == contents(_backend().scan_traces(edited, claims))
    batch.replace_data(data)
    assert contents(batch.index(FEEDBACK)) == contents(_backend().scan_traces(data, FEEDBACK))
    assert [claims for claims in scans if claims is not wire.NO_CLAIMS] == [PIPELINE, FEEDBACK, CLAIMS, FEEDBACK]
