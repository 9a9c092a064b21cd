"""One Kafka record -> the ExportTraceServiceRequest it holds, scanned, or the reason it cannot be read.

A protobuf record is checked by the wire core's scan (it refuses what upb refuses) and kept as it came: records'
bytes joined are their requests merged, decoded once per batch. A JSON record is decoded and encoded as protobuf.

The content-type header (written by our kafka exporter) decides the encoding; a record without one (the
Collector's Kafka exporter writes none) is decoded as the configured `encoding`. A `schema` header naming
another message (a stream record or anomaly topic read by mistake) is refused rather than misread.
"""

from __future__ import annotations

from processor.kafka import headers as h
from processor.model import otlp_json
from processor.model.batch import Signal
from processor.wire import NO_CLAIMS, ClaimsSet, TraceIndex, WireError, scan_traces
from processor.wire.claims import NO_MEMBERS

_BY_CONTENT_TYPE = {h.PROTOBUF: "otlp_proto", "application/protobuf": "otlp_proto", h.JSON: "otlp_json"}


class UndecodableRecord(ValueError):
    """The record is not an OTLP trace export request; the text says why."""


def encoding_of(record_headers, default: str) -> str:
    content_type = h.header(record_headers, h.CONTENT_TYPE)
    if content_type is None:
        return default
    media_type = content_type.partition(";")[0].strip().lower()
    encoding = _BY_CONTENT_TYPE.get(media_type)
    if encoding is None:
        raise UndecodableRecord(f"content-type {content_type!r} is neither {h.PROTOBUF} nor {h.JSON}")
    return encoding


def read(value: bytes | None, record_headers, default: str, span_claims: ClaimsSet = NO_MEMBERS) -> TraceIndex:
    """The record's request as protobuf bytes (`.buf`) with its index (`len()`: its spans), scanned with the
    pipelines' claims."""
    if value is None:
        raise UndecodableRecord("the record has no value (a tombstone)")
    schema = h.header(record_headers, h.SCHEMA)
    if schema is not None and schema != h.SPANS_SCHEMA:
        raise UndecodableRecord(f"schema {schema!r} is not {h.SPANS_SCHEMA}")
    if encoding_of(record_headers, default) == "otlp_json":
        try:
            value = otlp_json.decode(Signal.TRACES, value).SerializeToString()
        except otlp_json.OtlpJsonError as exc:
            raise UndecodableRecord(str(exc)) from None
    try:
        return scan_traces(value, span_claims or NO_CLAIMS)
    except WireError as exc:
        raise UndecodableRecord(f"not an OTLP protobuf ExportTraceServiceRequest: {exc}") from None
