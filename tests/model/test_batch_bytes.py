"""A traces batch of bytes behaves as the decoded request would: counts, merges, copies and added attributes give
exactly what the same operations on the upb message give (compared as decoded messages)."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench import payloads
from processor import wire
from processor.model.batch import Batch, Signal, count_items
from processor.processors.stream.reading import CLAIMS
from processor.stream.enrich import add_attributes

REQUESTS = payloads.build("mixed", variants=3) + payloads.build("plain", variants=2)
VALUES = {"tokenstream.chunk_count": 7, "gen_ai.response.time_to_first_chunk": 0.25, "tokenstream.none": None}


def _decoded(data: bytes) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(data)


def _spans(request: ExportTraceServiceRequest) -> list:
    return [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]


def test_a_batch_of_bytes_counts_and_decodes_as_its_request():
    data = REQUESTS[0]
    batch = Batch.of_bytes(data)
    assert not batch.decoded and batch.item_count() == count_items(Signal.TRACES, _decoded(data))
    assert batch.data is data  # nothing decoded it: the very bytes received
    assert batch.request == _decoded(data) and batch.decoded
    assert _decoded(batch.data) == _decoded(data) and not batch.decoded


def test_merged_bytes_are_the_protobuf_merge_and_their_index_the_scan_of_the_joined_bytes():
    merged, expected = Batch.of_bytes(REQUESTS[0], wire.scan_traces(REQUESTS[0])), _decoded(REQUESTS[0])
    for data in REQUESTS[1:]:
        merged.merge(Batch.of_bytes(data, wire.scan_traces(data)))
        expected.MergeFrom(_decoded(data))
    assert merged.item_count() == count_items(Signal.TRACES, expected)
    index = merged.index()
    assert merged.data == b"".join(REQUESTS)
    fresh = wire.scan_traces(merged.data)
    assert bytes(index.ids) == bytes(fresh.ids) and list(index.span_start) == list(fresh.span_start)
    assert _decoded(merged.data) == expected


def test_a_merged_batch_indexes_each_claims_as_the_scan_of_the_joined_bytes():
    """Parts scanned for two claims each: after the merge, an index for either is the one of the joined bytes."""
    parts = [Batch.of_bytes(data) for data in REQUESTS]
    for part in parts:
        part.index(CLAIMS)
        part.index()
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    joined = b"".join(REQUESTS)
    for claims in (wire.NO_CLAIMS, CLAIMS, CLAIMS):  # any index gives ids and offsets; a claims' own, its spans
        index, fresh = merged.index(claims), wire.scan_traces(joined, claims)
        assert bytes(index.ids) == bytes(fresh.ids) and list(index.span_start) == list(fresh.span_start)
    claimed, fresh = merged.index(CLAIMS), wire.scan_traces(joined, CLAIMS)
    assert list(claimed.claimed_rows) == list(fresh.claimed_rows) != []
    assert [span.attributes for span in claimed.claimed] == [span.attributes for span in fresh.claimed]
    assert merged.may_hold(CLAIMS)


def test_a_bytes_batch_merged_with_a_decoded_one_is_their_merge():
    batch = Batch.of_bytes(REQUESTS[0])
    batch.merge(Batch(Signal.TRACES, _decoded(REQUESTS[1])))
    expected = _decoded(REQUESTS[0])
    expected.MergeFrom(_decoded(REQUESTS[1]))
    assert batch.request == expected


@pytest.mark.parametrize("merge_between", [False, True])
def test_added_attributes_are_what_the_enrichment_gives_the_decoded_spans(merge_between):
    """Added by span ids, written when the bytes are read: a merge in between moves rows, not the edit."""
    first, second = REQUESTS[0], REQUESTS[1]
    batch = Batch.of_bytes(first)
    expected = _decoded(first)
    expected.MergeFrom(_decoded(second))
    index = batch.index(CLAIMS)
    targets = [row for row in index.claimed_rows][:3] + [0]
    if merge_between:
        batch.merge(Batch.of_bytes(second))
    for row in targets:
        batch.add_span_attributes(index.trace_id(row), index.span_id(row), VALUES)
        batch.add_span_attributes(index.trace_id(row), index.span_id(row), {"tokenstream.chunk_count": 99,
                                                                            "tokenstream.cost_usd": 0.5})
    if not merge_between:
        batch.merge(Batch.of_bytes(second))
    spans = _spans(expected)
    for row in targets:
        add_attributes(spans[row], VALUES)
        add_attributes(spans[row], {"tokenstream.chunk_count": 99, "tokenstream.cost_usd": 0.5})
    assert batch.request == expected


def test_a_copy_shares_the_bytes_and_carries_what_was_added():
    batch = Batch.of_bytes(REQUESTS[2])
    index = batch.index()
    batch.add_span_attributes(index.trace_id(1), index.span_id(1), VALUES)
    copy = batch.copy()
    assert copy.data is batch.data
    assert copy.request == batch.request


def test_attributes_added_after_a_decode_for_reading_are_written_into_the_bytes_again():
    batch = Batch.of_bytes(REQUESTS[0])
    index = batch.index()
    trace_id, span_id = index.trace_id(2), index.span_id(2)
    assert batch.request  # decoded by a reader (e.g. feedback walking span events)
    batch.add_span_attributes(trace_id, span_id, VALUES)
    expected = _decoded(REQUESTS[0])
    add_attributes(_spans(expected)[2], VALUES)
    assert _decoded(batch.data) == expected


def test_an_index_names_the_same_span_keys_as_the_request():
    """What a caller's share of a refusal is narrowed to (receiver, batch processor): its own spans."""
    from processor.model.batch import span_keys

    for data in REQUESTS:
        assert wire.scan_traces(data).span_keys() == span_keys(_decoded(data).resource_spans)
