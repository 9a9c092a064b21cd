"""The chunk arrivals of a stream, as the `stream` processor measured them: for pages that draw a stream (streamz).

Stream records carry cadence statistics, not the chunk times; a final record's chunks ride beside it on the batch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Stall:
    """A gap between two chunks at or above the stream's stall threshold."""

    start_unix_nano: int
    gap_s: float


@dataclass(frozen=True, slots=True)
class StreamChunks:
    #: The span id of the stream record these chunks are of.
    span_id: bytes
    #: Chunk times, unix ns, sorted and distinct.
    times: tuple[int, ...]
    stalls: tuple[Stall, ...]
