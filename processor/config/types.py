"""Value types that config models share: durations, sizes, endpoints, component ids."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)\s*$")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB|K|M|G)?\s*$")
_SIZE_UNITS = {None: 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "K": 2**10, "M": 2**20, "G": 2**30,
               "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}


def parse_duration(value: object) -> float:
    """`2s`, `500ms`, `1.5m`, or a bare number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (e.g. 2s, 500ms)")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{quoted(value)} is negative; a duration must be 0 or more")
        seconds = float(value) if abs(value) < 1e300 else math.inf  # float() of a huge int overflows
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{quoted(value)} is not a duration (e.g. 2s, 500ms)")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"{quoted(value)} is not a finite duration (e.g. 2s, 500ms)")
    return seconds


def parse_size(value: object) -> int:
    """`64MiB`, `512KB`, or a bare number of bytes -> bytes."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size (e.g. 64MiB, 512KB)")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{quoted(value)} is negative; a size must be 0 or more")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{quoted(value)} is not a size (e.g. 64MiB, 512KB)")
    size = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if not math.isfinite(size):
        raise ValueError(f"{quoted(value)} is too large for a size")
    return int(size)


#: How much of a value a message quotes; a config value can be megabytes long.
QUOTED_CHARS = 40


def cut(text: str, limit: int = QUOTED_CHARS) -> str:
    """`text`, or its first `limit` characters and how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def quoted(value: object) -> str:
    """A value for a message, in quotes, cut to a short prefix: a 100 MB value is not worth printing back."""
    text = str(value) if not isinstance(value, int) or abs(value) < 10 ** 40 else f"a {value.bit_length()}-bit int"
    return f'"{cut(text)}"'


def parse_endpoint(value: object) -> str:
    """`host:port`, where port is 0..65535 (0 picks a free port)."""
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or len(port) > 5 or int(port) > 65535:
        raise ValueError(f"{quoted(value)} is not an endpoint (e.g. 127.0.0.1:4317)")
    return f"{host or '0.0.0.0'}:{int(port)}"


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(lambda s: f"{s}s")]
Size = Annotated[int, BeforeValidator(parse_size)]
Endpoint = Annotated[str, BeforeValidator(parse_endpoint)]


class ComponentID:
    """`type[/name]`, as in the Collector: `batch`, `batch/slow`."""

    __slots__ = ("type", "name")

    def __init__(self, type_: str, name: str = "") -> None:
        self.type = type_
        self.name = name

    @classmethod
    def parse(cls, text: str) -> ComponentID:
        type_, _, name = str(text).partition("/")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", type_) or (name == "" and "/" in str(text)):
            raise ValueError(f"{quoted(text)} is not a component id (type[/name], e.g. batch or batch/slow)")
        return cls(type_, name)

    def __str__(self) -> str:
        return f"{self.type}/{self.name}" if self.name else self.type

    def __repr__(self) -> str:
        return f"ComponentID({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComponentID) and (self.type, self.name) == (other.type, other.name)

    def __hash__(self) -> int:
        return hash((self.type, self.name))
