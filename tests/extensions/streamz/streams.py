"""Known streams for the streamz tests: stream records and their chunks, built by hand as the `stream` processor
puts them on a batch (the record in `streams`, its chunk times and stalls in `chunks`)."""

from __future__ import annotations

import itertools
import time

from processor.model.batch import Batch, Signal
from processor.model.chunks import Stall, StreamChunks
from processor.model.records import StreamRecord, anomaly_for

_NS = 1_000_000_000
_ids = itertools.count(1)


def stream(route: str, model: str, outcome: str, chunk_offsets_s: list[float], *, ttft_s: float | None = None,
           start_ns: int | None = None,
           stalls: list[tuple[float, float]] = ()) -> tuple[StreamRecord, StreamChunks | None]:
    """A record as the stream processor fills it and its chunks; `stalls` are (offset of the chunk before, gap)
    in seconds, as the processor's cadence section found them."""
    n = next(_ids)
    start = start_ns if start_ns is not None else time.time_ns() - 10 * _NS
    times = [start + round(offset * _NS) for offset in chunk_offsets_s]
    record = StreamRecord(trace_id=n.to_bytes(16, "big"), span_id=n.to_bytes(8, "big"), route=route,
                          request_model=model, response_model=model, outcome=outcome, provider="openai",
                          start_time_unix_nano=start, end_time_unix_nano=(times[-1] if times else start) + _NS // 10,
                          chunk_count=len(times), stall_count=len(stalls), stalled_s=sum(gap for _, gap in stalls),
                          stalled=bool(stalls))
    record.duration_s = (record.end_time_unix_nano - start) / _NS
    if not times:
        return record, None
    record.first_chunk_time_unix_nano = times[0]
    record.last_chunk_time_unix_nano = times[-1]
    record.ttft_s = ttft_s if ttft_s is not None else chunk_offsets_s[0]
    found = tuple(Stall(start + round(at * _NS), gap) for at, gap in stalls)
    return record, StreamChunks(record.span_id, tuple(times), found)


def batch_of(*streams: tuple[StreamRecord, StreamChunks | None],
             anomalies: dict[int, list[str]] | None = None) -> Batch:
    """A traces batch carrying the records, their chunks, and anomalies by stream index."""
    batch = Batch.empty(Signal.TRACES)
    for index, (record, chunks) in enumerate(streams):
        batch.streams.append(record)
        if chunks is not None:
            batch.chunks.append(chunks)
        for kind in (anomalies or {}).get(index, []):
            batch.anomalies.append(anomaly_for(record, kind, severity="warning", time_unix_nano=None,
                                               detail=f"{kind} on {record.route}"))
    return batch


def known_streams() -> Batch:
    """One normal stream, one stalled by a 3 s gap, one aborted."""
    normal = stream("/chat", "gpt-4o-mini", "completed", [0.3 + 0.05 * i for i in range(20)])
    stalled = stream("/summarize", "gpt-4o", "completed", [0.5, 0.6, 0.7, 3.7, 3.8, 3.9], stalls=[(0.7, 3.0)])
    aborted = stream("/chat", "claude-3-5-sonnet", "aborted", [0.4, 0.5, 0.6])
    return batch_of(normal, stalled, aborted, anomalies={1: ["stall"], 2: ["abort"]})
