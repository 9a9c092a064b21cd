"""The drawing plan of one stream's timeline: offsets in seconds from the stream's start.

Computed once, when the stream is recorded, so the page only draws. Stalls are the gaps between
consecutive chunks of at least `stall_gap`; they are found on every chunk, before ticks are thinned.
"""

from __future__ import annotations

from typing import Any

#: Ticks drawn per stream at most; a longer stream is thinned evenly (its stalls are kept whole).
MAX_TICKS = 1000

_NS = 1e-9


def build_timeline(record: dict[str, Any], chunk_times: list[int] | None, stall_gap_s: float) -> dict[str, Any]:
    """Offsets of start, first token, chunks, last chunk and end, and the stalls between chunks.

    Without chunk times (a convention that only reports a first token), `chunks` is empty and only the
    record's own times are placed; `source` says which it was.
    """
    chunks = sorted(set(chunk_times or ()))
    first = record.get("first_chunk_time_unix_nano", chunks[0] if chunks else None)
    origin = record.get("start_time_unix_nano", first)
    if origin is None:
        return {"source": "none", "span_s": 0.0, "chunks": [], "stalls": []}

    def offset(ns: int | None) -> float | None:
        return None if ns is None else round((ns - origin) * _NS, 6)

    last = record.get("last_chunk_time_unix_nano", chunks[-1] if chunks else None)
    marks = {"start_s": 0.0, "first_token_s": offset(first), "last_chunk_s": offset(last),
             "end_s": offset(record.get("end_time_unix_nano"))}
    stalls = [{"from_s": offset(a), "to_s": offset(b), "gap_s": round((b - a) * _NS, 6)}
              for a, b in zip(chunks, chunks[1:], strict=False) if (b - a) * _NS >= stall_gap_s]
    ends = [v for v in (*marks.values(), offset(chunks[-1]) if chunks else None) if v is not None]
    return {"source": "chunk_events" if chunks else "summary", "span_s": max(max(ends), 0.0),
            **{k: v for k, v in marks.items() if v is not None},
            "chunks": [offset(t) for t in _thin(chunks)], "chunk_total": len(chunks), "stalls": stalls}


def _thin(times: list[int]) -> list[int]:
    if len(times) <= MAX_TICKS:
        return times
    step = len(times) / MAX_TICKS
    return [times[int(i * step)] for i in range(MAX_TICKS)]
