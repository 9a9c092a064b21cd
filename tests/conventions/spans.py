"""Spans built by hand, for conventions no capture exists for (Vercel AI SDK, vLLM) and for edge cases."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

T0 = 1_800_000_000_000_000_000
MS = 1_000_000
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
PARENT = bytes.fromhex("eee19b7ec3c1b173")


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, (list, tuple)):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    return AnyValue(string_value=str(value))


def attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in values.items()]


def make_span(name: str, attrs: dict[str, Any], *, kind: int = Span.SPAN_KIND_CLIENT, duration_ms: int = 900,
              events: list[tuple[str, int, dict[str, Any]]] = (), status: int = Status.STATUS_CODE_UNSET,
              message: str = "", span_id: bytes = b"\x02" * 8) -> Span:
    """A span starting at T0; events are (name, ms after start, attributes)."""
    span = Span(trace_id=TRACE, span_id=span_id, parent_span_id=PARENT, name=name, kind=kind,
                start_time_unix_nano=T0, end_time_unix_nano=T0 + duration_ms * MS,
                status=Status(code=status, message=message))
    span.attributes.extend(attributes(attrs))
    for event_name, at_ms, event_attrs in events:
        event = span.events.add(name=event_name, time_unix_nano=T0 + at_ms * MS)
        event.attributes.extend(attributes(event_attrs))
    return span


def resource(service: str = "checkout") -> Resource:
    return Resource(attributes=attributes({"service.name": service}))


def scope(name: str = "ai") -> InstrumentationScope:
    return InstrumentationScope(name=name)
