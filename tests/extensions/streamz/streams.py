"""Known streams for the streamz tests: stream records with their OpenLLMetry spans, built by hand."""

from __future__ import annotations

import itertools
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.exporters.streamz.chunks import CHUNK_EVENT
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord, anomaly_for

_NS = 1_000_000_000
_ids = itertools.count(1)


def stream(route: str, model: str, outcome: str, chunk_offsets_s: list[float], *, ttft_s: float | None = None,
           start_ns: int | None = None, stall_count: int = 0) -> tuple[StreamRecord, list[int]]:
    """A record as the stream processors fill it, and the chunk times (unix ns) of its span."""
    n = next(_ids)
    start = start_ns if start_ns is not None else time.time_ns() - 10 * _NS
    chunks = [start + int(offset * _NS) for offset in chunk_offsets_s]
    record = StreamRecord(trace_id=n.to_bytes(16, "big"), span_id=n.to_bytes(8, "big"), route=route,
                          request_model=model, response_model=model, outcome=outcome, provider="openai",
                          start_time_unix_nano=start, end_time_unix_nano=(chunks[-1] if chunks else start) + _NS // 10,
                          chunk_count=len(chunks), stall_count=stall_count, stalled=stall_count > 0)
    if chunks:
        record.first_chunk_time_unix_nano = chunks[0]
        record.last_chunk_time_unix_nano = chunks[-1]
        record.ttft_s = ttft_s if ttft_s is not None else chunk_offsets_s[0]
    record.duration_s = (record.end_time_unix_nano - start) / _NS
    return record, chunks


def batch_of(*streams: tuple[StreamRecord, list[int]], anomalies: dict[int, list[str]] | None = None) -> Batch:
    """A traces batch carrying the records, their LLM spans with chunk events, and anomalies by stream index."""
    batch = Batch(Signal.TRACES, ExportTraceServiceRequest())
    scope = batch.request.resource_spans.add().scope_spans.add()
    for index, (record, chunks) in enumerate(streams):
        span = scope.spans.add(trace_id=record.trace_id, span_id=record.span_id, name="openai.chat",
                               start_time_unix_nano=record.start_time_unix_nano,
                               end_time_unix_nano=record.end_time_unix_nano)
        for at in chunks:
            span.events.add(name=CHUNK_EVENT, time_unix_nano=at)
        batch.streams.append(record)
        for kind in (anomalies or {}).get(index, []):
            batch.anomalies.append(anomaly_for(record, kind, severity="warning", time_unix_nano=None,
                                               detail=f"{kind} on {record.route}"))
    return batch


def known_streams() -> Batch:
    """One normal stream, one stalled by a 3 s gap, one aborted."""
    normal = stream("/chat", "gpt-4o-mini", "completed", [0.3 + 0.05 * i for i in range(20)])
    stalled = stream("/summarize", "gpt-4o", "completed", [0.5, 0.6, 0.7, 3.7, 3.8, 3.9], stall_count=1)
    aborted = stream("/chat", "claude-3-5-sonnet", "aborted", [0.4, 0.5, 0.6])
    return batch_of(normal, stalled, aborted, anomalies={1: ["stall"], 2: ["abort"]})
