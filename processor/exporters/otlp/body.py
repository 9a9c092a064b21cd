"""The bytes an otlp exporter sends: the one place that knows how a batch holds its export request.

`request_bytes` is a batch's request as encoded OTLP protobuf: for spans, the very bytes the pipeline holds (as
received, or as the wire core's writers edited them: enriched, redacted); nothing is encoded again. `fit_body` cuts
an encoded request into pieces of at most `limit` bytes, each with its item count: spans by the wire core's `split`,
logs and metrics through upb.
"""

from __future__ import annotations

from processor import wire
from processor.exporters.kafka.split import fit
from processor.model.batch import REQUEST_TYPES, Batch, Signal, count_items


def request_bytes(batch: Batch) -> bytes:
    if batch.signal is Signal.TRACES:
        return batch.data
    return batch.request.SerializeToString()


def fit_body(signal: Signal, body: bytes, items: int, limit: int) -> list[tuple[bytes, int]]:
    """(piece, its item count) pairs, each at most `limit` bytes unless it is one span, log record or metric."""
    if len(body) <= limit:
        return [(body, items)]
    if signal is Signal.TRACES:
        index = wire.scan_traces(body)
        return wire.split(index, range(len(index)), limit)
    request = REQUEST_TYPES[signal].FromString(body)
    return [(data, count_items(signal, piece)) for piece, data in fit(request, _serialize, limit)]


def _serialize(message) -> bytes:
    return message.SerializeToString()
