"""Reading OTLP attributes as plain Python values, the form both wire backends give a claimed span's attributes in.

A plain span is looked at with `has_prefix` / `find` (one pass over its keys). An LLM span's attributes are one
map, key -> plain value (the wire core's `ClaimedSpan.attributes`, or `reference_read.attribute_map` of protobuf
`KeyValue`s), read through the typed getters, which return None for a missing key or a value of another type.
Plain values are what `to_python` gives: str, bool, int, float, bytes, list (array), dict (kvlist), None (empty);
the getters also take an AnyValue (what `find` and `attr_map` give), read as its plain value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

AttrMap = Mapping[str, Any]


def has_prefix(attributes: Iterable[Any], prefixes: tuple[str, ...]) -> bool:
    """Whether any attribute key starts with one of `prefixes`."""
    return any(kv.key.startswith(prefixes) for kv in attributes)


def find(attributes: Iterable[Any], key: str) -> Any | None:
    """The AnyValue of `key`, by a linear scan (for one or two keys of a span that may not be an LLM span)."""
    for kv in attributes:
        if kv.key == key:
            return kv.value
    return None


def attr_map(attributes: Iterable[Any]) -> dict[str, Any]:
    """key -> AnyValue (references into the protobuf, nothing copied or converted). The first of a repeated key wins,
    as in `find()`, the wire core and the Collector's pcommon `Map.Get` (OTLP requires keys to be unique)."""
    found: dict[str, Any] = {}
    for kv in attributes:
        found.setdefault(kv.key, kv.value)
    return found


def plain(value: Any | None) -> Any:
    """A plain value as it is; an AnyValue as its plain value."""
    return to_python(value) if type(value) is AnyValue else value


def as_str(value: Any | None) -> str | None:
    value = plain(value)
    return value if type(value) is str else None


def as_int(value: Any | None) -> int | None:
    """An int value; a double that is a whole number (some SDKs send counts as doubles) also counts."""
    value = plain(value)
    kind = type(value)
    if kind is int:
        return value
    if kind is float and value.is_integer():
        return int(value)
    if kind is str and value.isdigit():
        return int(value)
    return None


def as_float(value: Any | None) -> float | None:
    value = plain(value)
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return float(value)
    if kind is str:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_bool(value: Any | None) -> bool | None:
    value = plain(value)
    kind = type(value)
    if kind is bool:
        return value
    if kind is str and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_str_list(value: Any | None) -> list[str] | None:
    """An array of strings; a single string is a one-element list; a JSON-encoded array string is decoded."""
    value = plain(value)
    kind = type(value)
    if kind is list:
        return [v for v in value if type(v) is str]
    if kind is str:
        if value.startswith("["):
            try:
                decoded = json.loads(value)
            except ValueError:
                return [value]
            if isinstance(decoded, list):
                return [str(item) for item in decoded]
        return [value]
    return None


def to_python(value: Any | None) -> Any:
    """An AnyValue as plain Python (dict / list / scalars), for the few small structured values read whole."""
    kind = None if value is None else value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "kvlist_value":
        return {kv.key: to_python(kv.value) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [to_python(v) for v in value.array_value.values]
    return getattr(value, kind)


def get_str(attrs: AttrMap, key: str) -> str | None:
    return as_str(attrs.get(key))


def get_int(attrs: AttrMap, key: str) -> int | None:
    return as_int(attrs.get(key))


def get_float(attrs: AttrMap, key: str) -> float | None:
    return as_float(attrs.get(key))


def get_bool(attrs: AttrMap, key: str) -> bool | None:
    return as_bool(attrs.get(key))


def get_str_list(attrs: AttrMap, key: str) -> list[str] | None:
    return as_str_list(attrs.get(key))


def first_str(attrs: AttrMap, keys: tuple[str, ...]) -> str | None:
    """The first of `keys` present as a non-empty string."""
    for key in keys:
        text = as_str(attrs.get(key))
        if text:
            return text
    return None


def first_int(attrs: AttrMap, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        number = as_int(attrs.get(key))
        if number is not None:
            return number
    return None
