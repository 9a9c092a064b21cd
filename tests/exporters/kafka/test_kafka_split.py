"""Splitting OTLP requests by trace and by size (no broker needed)."""

from __future__ import annotations

from processor.exporters.kafka.split import by_trace, fit
from processor.model import otlp_json
from tests.exporters.kafka.conftest import all_spans, make_request, span_keys


def _serialize(request) -> bytes:
    return request.SerializeToString()


def test_by_trace_keeps_every_span_under_its_resource_and_scope():
    request = make_request(traces=5, spans_per_trace=3, resources=2, scopes=3)
    parts = by_trace(request)
    assert len(parts) == 5
    placed = []
    for trace_id, part in parts.items():
        for rs in part.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    assert span.trace_id == trace_id
                    placed.append((rs.resource.SerializeToString(), ss.scope.name, span.span_id))
    original = [(rs.resource.SerializeToString(), ss.scope.name, span.span_id)
                for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert sorted(placed) == sorted(original)


def test_by_trace_returns_a_single_trace_request_as_is():
    request = make_request(traces=1, spans_per_trace=4)
    assert list(by_trace(request).values()) == [request]


def test_fit_leaves_a_small_request_whole():
    request = make_request(traces=2)
    assert fit(request, _serialize, 1 << 20) == [(request, request.SerializeToString())]


def test_fit_splits_by_resource_then_scope_then_span_until_each_piece_fits():
    request = make_request(traces=1, spans_per_trace=40, resources=2, scopes=2, payload_bytes=2000)
    limit = 8 * 1024
    pieces = fit(request, otlp_json.encode, limit)
    assert all(len(data) <= limit for _, data in pieces)
    seen = [key for piece, _ in pieces for key in span_keys(piece)]
    assert len(seen) == len(set(seen)) == 40 and set(seen) == span_keys(request)
    for piece, data in pieces:  # the bytes are the piece's own encoding
        assert data == otlp_json.encode(piece)


def test_fit_leaves_a_span_over_the_limit_whole_in_a_piece_of_its_own():
    request = make_request(traces=1, spans_per_trace=3, resources=1, scopes=1, payload_bytes=6000)
    pieces = fit(request, _serialize, 2000)
    assert len(pieces) == 3
    assert [len(all_spans(piece)) for piece, _ in pieces] == [1, 1, 1]
