"""The drawing plan of one stream's timeline: offsets in seconds from the stream's start.

Computed once, when the stream is recorded, so the page only draws. The stalls are the `stream` processor's
(its cadence section decides what a stall is, with stall_gap and stall_factor): drawn, never recomputed here.
"""

from __future__ import annotations

from typing import Any

from processor.model.chunks import StreamChunks

#: Ticks drawn per stream at most; a longer stream is thinned evenly (its stalls are kept whole).
MAX_TICKS = 1000

_NS = 1e-9


def build_timeline(record: dict[str, Any], chunks: StreamChunks | None) -> dict[str, Any]:
    """Offsets of start, first token, chunks, last chunk and end, and the record's stalls.

    Without chunk times (a convention that only reports a first token), `chunks` and `stalls` are empty and only
    the record's own times are placed; `source` says which it was.
    """
    times = list(chunks.times) if chunks else []
    first = record.get("first_chunk_time_unix_nano", times[0] if times else None)
    origin = record.get("start_time_unix_nano", first)
    if origin is None:
        return {"source": "none", "span_s": 0.0, "chunks": [], "stalls": []}

    def offset(ns: float | None) -> float | None:
        return None if ns is None else round((ns - origin) * _NS, 6)

    last = record.get("last_chunk_time_unix_nano", times[-1] if times else None)
    marks = {"start_s": 0.0, "first_token_s": offset(first), "last_chunk_s": offset(last),
             "end_s": offset(record.get("end_time_unix_nano"))}
    stalls = [{"from_s": offset(s.start_unix_nano), "to_s": offset(s.start_unix_nano + s.gap_s / _NS),
               "gap_s": round(s.gap_s, 6)} for s in (chunks.stalls if chunks else ())]
    ends = [v for v in (*marks.values(), offset(times[-1]) if times else None) if v is not None]
    return {"source": "chunk_events" if times else "summary", "span_s": max(max(ends), 0.0),
            **{k: v for k, v in marks.items() if v is not None},
            "chunks": [offset(t) for t in _thin(times)], "chunk_total": len(times), "stalls": stalls}


def _thin(times: list[int]) -> list[int]:
    if len(times) <= MAX_TICKS:
        return times
    step = len(times) / MAX_TICKS
    return [times[int(i * step)] for i in range(MAX_TICKS)]
