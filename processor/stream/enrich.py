"""Adding derived values to an LLM span as attributes, so a downstream collector sees them.

Semantic-convention names where one exists (`gen_ai.response.time_to_first_chunk`,
`gen_ai.response.finish_reasons`), `tokenstream.<record field>` otherwise. An attribute the span already
has is left alone: the library's own value wins.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

PREFIX = "tokenstream."


def add_attributes(span: Any, values: dict[str, Any]) -> None:
    """Add each known (not None) value the span does not already carry."""
    wanted = {key: value for key, value in values.items() if value is not None}
    if not wanted:
        return
    for existing in span.attributes:
        wanted.pop(existing.key, None)
    for key, value in wanted.items():
        span.attributes.add(key=key, value=any_value(value))


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(string_value=value.hex())
    if isinstance(value, list | tuple):
        result = AnyValue()
        result.array_value.values.extend(any_value(v) for v in value)
        return result
    return AnyValue(string_value=str(value))


def record_fields(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """`tokenstream.<name>` -> value for each of `names` set on the record."""
    return {PREFIX + name: getattr(record, name) for name in names if record.HasField(name)}
