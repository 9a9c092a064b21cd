"""The stream record and anomaly, and their JSON form.

The JSON form uses the proto's snake_case names, lowercase hex ids, integer unix-ns times and
float-second durations, and leaves out what is unknown (proto3 `optional` fields that are unset).
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from processor.model.gen.tokenstream.v1.stream_pb2 import StreamAnomaly, StreamRecord

__all__ = ["StreamAnomaly", "StreamRecord", "from_json_dict", "to_json_bytes", "to_json_dict", "LABELS"]

#: The labels a stream and its anomalies share.
LABELS = ("service", "tenant", "route", "provider", "request_model", "response_model", "operation", "session_id")

_BYTES = FieldDescriptor.TYPE_BYTES


def to_json_dict(message: StreamRecord | StreamAnomaly) -> dict[str, Any]:
    return {field.name: value.hex() if field.type == _BYTES else value for field, value in message.ListFields()}


def to_json_bytes(message: StreamRecord | StreamAnomaly) -> bytes:
    return json.dumps(to_json_dict(message), separators=(",", ":"), ensure_ascii=False).encode()


def from_json_dict(cls: type[StreamRecord] | type[StreamAnomaly], data: dict[str, Any]):
    message = cls()
    fields = cls.DESCRIPTOR.fields_by_name
    for name, value in data.items():
        field = fields.get(name)
        if field is None:
            continue  # a newer writer's field: ignore, as protobuf does
        setattr(message, name, bytes.fromhex(value) if field.type == _BYTES else value)
    return message


def anomaly_for(record: StreamRecord, kind: str, *, severity: str, time_unix_nano: int | None,
                detail: str) -> StreamAnomaly:
    """An anomaly of `record`'s stream, carrying its ids and labels."""
    anomaly = StreamAnomaly(trace_id=record.trace_id, span_id=record.span_id, kind=kind, severity=severity,
                            detail=detail)
    if time_unix_nano is not None:
        anomaly.time_unix_nano = time_unix_nano
    for label in LABELS:
        if record.HasField(label):
            setattr(anomaly, label, getattr(record, label))
    return anomaly
