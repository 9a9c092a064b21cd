"""Receipt times travel with the data: merged batches keep every request's, copies and splits keep them."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.model.batch import Batch, Signal
from processor.processors.batch.split import split_batch


def _batch(spans: int, received: int) -> Batch:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for index in range(spans):
        scope.spans.add(trace_id=b"\x01" * 16, span_id=bytes([index + 1]) * 8)
    return Batch(Signal.TRACES, request, received_ns=[received])


def test_merge_keeps_the_receipt_time_of_each_request():
    batch = _batch(2, 10)
    batch.merge(_batch(3, 20))
    assert batch.received_ns == [10, 20]
    assert batch.copy().received_ns == [10, 20]


def test_a_split_batch_keeps_its_receipt_times_once():
    parts = split_batch(_batch(5, 7), 2)
    assert [part.received_ns for part in parts] == [[7], [], []]
