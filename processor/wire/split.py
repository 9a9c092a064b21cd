"""Cutting spans into requests of at most a given size: by resource entry, then scope entry, then span, as the kafka
exporter's split.fit does on messages. One implementation over the index; each backend's `select_spans` writes
the pieces. Runs only for a trace over the limit (rare), so plain Python is fine here."""

from __future__ import annotations

import math
from collections.abc import Iterable

from processor.wire.index import TraceIndex


def split_rows(index: TraceIndex, rows: Iterable[int], limit: int) -> list[tuple[bytes, int]]:
    """(encoded request, span count) pieces of `rows`, each at most `limit` bytes unless it is a single span."""
    wanted = sorted(set(rows))
    if not wanted:
        return []
    data = index.codec.select_spans(index, wanted)
    if len(data) <= limit or len(wanted) == 1:
        return [(data, len(wanted))]
    return [piece for group in _cut(index, wanted, math.ceil(len(data) / limit))
            for piece in split_rows(index, group, limit)]


def _span_size(index: TraceIndex, row: int) -> int:
    size = index.span_end[row] - index.span_start[row]
    return 1 + (size.bit_length() + 6) // 7 + size if size else 2


def _cut(index: TraceIndex, rows: list[int], count: int) -> list[list[int]]:
    """About `count` groups of similar size, cut at the highest level where the rows have more than one entry."""
    for column in (index.span_resource, index.span_scope):
        units: dict[int, list[int]] = {}
        for row in rows:
            units.setdefault(column[row], []).append(row)
        if len(units) > 1:
            return _groups(list(units.values()), index, count)
    return _groups([[row] for row in rows], index, count)


def _groups(units: list[list[int]], index: TraceIndex, count: int) -> list[list[int]]:
    """`units` in order, in at most `count` (at least two) runs of about equal size."""
    count = max(2, min(count, len(units)))
    sizes = [sum(_span_size(index, row) for row in unit) for unit in units]
    target = sum(sizes) / count
    groups: list[list[int]] = [[]]
    filled = 0
    for unit, size in zip(units, sizes, strict=True):
        if groups[-1] and filled + size > target and len(groups) < count:
            groups.append([])
            filled = 0
        groups[-1].extend(unit)
        filled += size
    if len(groups) == 1:  # one unit holds nearly everything: still make progress
        first = units[0]
        groups = [first, [row for unit in units[1:] for row in unit]]
    return groups
