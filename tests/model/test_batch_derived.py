"""Trace costs, SLO statuses and feedback travel on a batch as the stream records do: merges join them, copies
carry them (a copy's lists are its own), and a batch holding only them is not empty."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.model.batch import Batch, Signal
from processor.model.gen.tokenstream.v1.stream_pb2 import SloStatus, StreamFeedback, TraceCost


def _spans(first_id: int) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=bytes([first_id]) * 8)
    return request


def _batch(first_id: int, as_bytes: bool) -> Batch:
    request = _spans(first_id)
    return Batch.of_bytes(request.SerializeToString()) if as_bytes else Batch(Signal.TRACES, request)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_merge_and_copy_carry_each_kind(as_bytes):
    batch, other = _batch(1, as_bytes), _batch(2, as_bytes)
    batch.trace_costs.append(TraceCost(trace_id=b"\x01" * 16, cost_usd=0.5))
    other.trace_costs.append(TraceCost(trace_id=b"\x02" * 16, cost_usd=0.25))
    other.slo_status.append(SloStatus(route="/chat", breached=True))
    other.feedback.append(StreamFeedback(experience="normal", verdict="up"))
    batch.merge(other)
    copy = batch.copy()
    copy.feedback.append(StreamFeedback(experience="stalled", verdict="down"))
    assert [c.cost_usd for c in copy.trace_costs] == [0.5, 0.25]
    assert [(s.route, s.breached) for s in copy.slo_status] == [("/chat", True)]
    assert [f.verdict for f in copy.feedback] == ["up", "down"]
    assert [f.verdict for f in batch.feedback] == ["up"]  # the copy's list is its own
    assert copy.item_count() == batch.item_count() == 2


@pytest.mark.parametrize("kind, record", [("trace_costs", TraceCost()), ("slo_status", SloStatus()),
                                          ("feedback", StreamFeedback())])
def test_a_batch_with_only_derived_records_is_not_empty_and_says_what_it_holds(kind, record):
    batch = Batch.empty(Signal.TRACES)
    assert batch.is_empty()
    getattr(batch, kind).append(record)
    assert not batch.is_empty()
    named = {"trace_costs": "1 trace costs", "slo_status": "1 SLO statuses", "feedback": "1 feedback"}[kind]
    assert named in repr(batch)
