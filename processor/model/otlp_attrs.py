"""Reading OTLP `KeyValue` attributes and `AnyValue`s in place, without converting whole spans to dicts.

A plain span is looked at with `has_prefix` / `find` (one pass over its keys, no allocation). An LLM span gets one
`attr_map` (key -> the AnyValue message itself, nothing converted), and its values are read through the typed
getters, which return None for a missing key or a value of another type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

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


def as_str(value: Any | None) -> str | None:
    if value is None or value.WhichOneof("value") != "string_value":
        return None
    return value.string_value


def as_int(value: Any | None) -> int | None:
    """An int value; a double that is a whole number (some SDKs send counts as doubles) also counts."""
    kind = None if value is None else value.WhichOneof("value")
    if kind == "int_value":
        return value.int_value
    if kind == "double_value" and value.double_value.is_integer():
        return int(value.double_value)
    if kind == "string_value" and value.string_value.isdigit():
        return int(value.string_value)
    return None


def as_float(value: Any | None) -> float | None:
    kind = None if value is None else value.WhichOneof("value")
    if kind == "double_value":
        return value.double_value
    if kind == "int_value":
        return float(value.int_value)
    if kind == "string_value":
        try:
            return float(value.string_value)
        except ValueError:
            return None
    return None


def as_bool(value: Any | None) -> bool | None:
    kind = None if value is None else value.WhichOneof("value")
    if kind == "bool_value":
        return value.bool_value
    if kind == "string_value" and value.string_value.lower() in ("true", "false"):
        return value.string_value.lower() == "true"
    return None


def as_str_list(value: Any | None) -> list[str] | None:
    """An array of strings; a single string is a one-element list; a JSON-encoded array string is decoded."""
    kind = None if value is None else value.WhichOneof("value")
    if kind == "array_value":
        return [v.string_value for v in value.array_value.values if v.WhichOneof("value") == "string_value"]
    if kind == "string_value":
        text = value.string_value
        if text.startswith("["):
            try:
                decoded = json.loads(text)
            except ValueError:
                return [text]
            if isinstance(decoded, list):
                return [str(item) for item in decoded]
        return [text]
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
