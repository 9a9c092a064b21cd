"""The bytes an otlp exporter sends: the one place that knows how a batch holds its export request.

`request_bytes` is a batch's request as encoded OTLP protobuf, and `fit_body` cuts an encoded request into pieces
of at most `limit` bytes, each with its item count. The pipeline holds a upb message today, so the first serializes
it and the second decodes an oversized body to cut it; on the native wire core they become the held bytes and the
compiled writer's cut, and nothing else in the exporters changes.
"""

from __future__ import annotations

from processor.exporters.kafka.split import fit
from processor.model.batch import REQUEST_TYPES, Batch, Signal, count_items


def request_bytes(batch: Batch) -> bytes:
    return batch.request.SerializeToString()


def fit_body(signal: Signal, body: bytes, items: int, limit: int) -> list[tuple[bytes, int]]:
    """(piece, its item count) pairs, each at most `limit` bytes unless it is one span, log record or metric."""
    if len(body) <= limit:
        return [(body, items)]
    request = REQUEST_TYPES[signal].FromString(body)
    return [(data, count_items(signal, piece)) for piece, data in fit(request, _serialize, limit)]


def _serialize(message) -> bytes:
    return message.SerializeToString()
