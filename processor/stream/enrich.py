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
    """Add each known (not None) value the span does not already carry.

    Values are written into the new KeyValue in place: building an AnyValue and passing it to `add` copies it.
    """
    attributes = span.attributes
    present: set[str] | None = None
    for key, value in values.items():
        if value is None:
            continue
        if present is None:
            present = {existing.key for existing in attributes}
        if key not in present:
            set_value(attributes.add(key=key).value, value)
            present.add(key)


def set_value(target: AnyValue, value: Any) -> None:
    """`target` (an empty AnyValue) set to `value`, as any_value() would make it."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, bytes):
        target.string_value = value.hex()
    elif isinstance(value, list | tuple):
        array = target.array_value
        array.SetInParent()
        for item in value:
            set_value(array.values.add(), item)
    else:
        target.string_value = str(value)


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
