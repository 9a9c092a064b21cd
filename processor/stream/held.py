"""An `LlmCall` as the `stream` processor holds it for `wait`: one immutable tuple of atomic values, which Python's
cyclic GC stops tracking once it has looked at it (a young collection or two: the inner tuples go first).

A held call as objects (a slotted LlmCall, its upb StreamRecord, a list of ~100 chunk times) was three GC-tracked
objects, six with its trace's state and containers, and the list's ints were visited one by one by every collection
that looked at it: held for `wait`, such state reaches the oldest generation, and its collections were the llm
workload's largest single cost, each one a pause. Held as a tuple of bytes, numbers, strings and flat tuples of
them, it costs the GC nothing once untracked (and a trace's dict of them is untracked by the next full collection;
a retry marker whose value is a list keeps its call's tuple tracked, which is only slower).

`hold` packs every field of the LlmCall in field order (the record serialized, chunk times as the bytes of an
unsigned 64-bit array, enums by value, dicts flat as key, value, ...); `restore` gives an equal LlmCall back, a new
one each time: a change to it (a joined log) is kept only by holding it again. Those bytes are 8 a chunk where a
tuple of ints was ~44 (an int object each), and the GC never looks at them: at the llm workload's rate the store
holds ~9,000 traces.
"""

from __future__ import annotations

from array import array
from dataclasses import MISSING, fields
from enum import Enum
from itertools import chain
from operator import attrgetter
from typing import NewType

from processor.conventions.base import LlmCall
from processor.model.records import StreamRecord

HeldCall = NewType("HeldCall", tuple)


def _fields() -> tuple[tuple[str, ...], tuple[tuple[int, type], ...]]:
    """The names of LlmCall's fields after `record`, in order, and (index, kind) of those not packed as they are:
    an Enum class (packed by value), `list` (chunk times) or `dict`."""
    names, kinds = [], []
    for f in fields(LlmCall)[1:]:
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if isinstance(default, Enum | list | dict):
            kinds.append((len(names), type(default)))
        names.append(f.name)
    return tuple(names), tuple(kinds)


_NAMES, _KINDS = _fields()
_GET = attrgetter(*_NAMES)


def hold(call: LlmCall) -> HeldCall:
    values = list(_GET(call))
    for index, kind in _KINDS:
        value = values[index]
        if kind is list:
            values[index] = _packed(value)
        elif kind is dict:  # flat, key, value, ...: the GC untracks a tuple of tuples later
            values[index] = tuple(chain.from_iterable(value.items()))
        elif value is not None:
            values[index] = value._value_
    return HeldCall((call.record.SerializeToString(), *values))


def _packed(times: list) -> bytes | tuple:
    try:
        return array("Q", times).tobytes()
    except (TypeError, OverflowError):  # not 64-bit unsigned ints (a time from a damaged request): held as they are
        return tuple(times)


def _unpacked(times: bytes | tuple) -> list:
    if isinstance(times, tuple):
        return list(times)
    unpacked = array("Q")
    unpacked.frombytes(times)
    return unpacked.tolist()


def restore(held: HeldCall) -> LlmCall:
    values = list(held)
    for index, kind in _KINDS:
        value = values[index + 1]
        if kind is list:
            values[index + 1] = _unpacked(value)
        elif kind is dict:
            values[index + 1] = dict(zip(value[::2], value[1::2], strict=True))
        elif value is not None:
            values[index + 1] = kind._value2member_map_[value]  # kind(value), without Enum's slow __call__
    values[0] = StreamRecord.FromString(values[0])
    return LlmCall(*values)


def held_size(held: HeldCall) -> int:
    """The size of the call's values, roughly: the record's and texts' lengths, 8 bytes per chunk time (as packed
    int64 would take)."""
    times = held[_CHUNK_TIMES]
    return len(held[0]) + (len(times) if isinstance(times, bytes) else 8 * len(times)) \
        + len(held[_COMPLETION_TEXT] or "") + len(held[_CHUNK_TEXT] or "")


_CHUNK_TIMES, _COMPLETION_TEXT, _CHUNK_TEXT = (1 + _NAMES.index(name) for name in ("chunk_times", "completion_text",
                                                                                    "chunk_text"))
