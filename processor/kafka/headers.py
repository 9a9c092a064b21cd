"""The headers every record we write carries, so a reader can decode it without knowing our config."""

from __future__ import annotations

CONTENT_TYPE = "content-type"
SCHEMA = "schema"

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

SPANS_SCHEMA = "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
STREAM_SCHEMA = "tokenstream.v1.StreamRecord"
ANOMALY_SCHEMA = "tokenstream.v1.StreamAnomaly"
TRACE_COST_SCHEMA = "tokenstream.v1.TraceCost"


def make_headers(content_type: str, schema: str) -> tuple[tuple[str, bytes], ...]:
    return ((CONTENT_TYPE, content_type.encode()), (SCHEMA, schema.encode()))


def header(headers, name: str) -> str | None:
    """The value of header `name` in aiokafka's `((key, bytes), ...)` form, decoded, or None."""
    for key, value in headers or ():
        if key == name:
            return value.decode() if value is not None else None
    return None
