"""cadence: TTFT, TPOT, gap percentiles, stalls and throughput of each stream (processor.stream.cadence_math).

Receipt-time work enriches its span; a final record gets the same fields and one `stall` anomaly per stall.
"""

from __future__ import annotations

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.conventions.base import TtftClock
from processor.model.batch import Batch
from processor.model.records import StreamRecord, anomaly_for
from processor.processors.cadence.config import CadenceConfig
from processor.stream.cadence_math import Cadence, measure
from processor.stream.enrich import PREFIX, enrich, record_fields
from processor.stream.work import StreamWork, works

TTFC = "gen_ai.response.time_to_first_chunk"
_ENRICHED = ("tpot_s", "tokens_per_s", "chunk_count", "gap_p50_s", "gap_p95_s", "gap_max_s", "stall_count",
             "stalled_s", "stalled", "duplicate_chunks", "out_of_order_chunks", "cadence_source")


class CadenceProcessor(ComponentBase):
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: CadenceConfig, next_consumer: Consumer) -> None:
        self.next = next_consumer
        self.stall_gap = config.stall_gap
        self.stall_factor = config.stall_factor

    async def consume(self, batch: Batch) -> None:
        for work in works(batch):
            cadence = measure(work.call, stall_gap_s=self.stall_gap, stall_factor=self.stall_factor)
            fill(work.record, cadence)
            if work.final:
                batch.anomalies.extend(stall_anomalies(work.record, cadence))
            else:
                _enrich(batch, work)
        await self.next.consume(batch)


def fill(record: StreamRecord, c: Cadence) -> None:
    """Set each known value on the record; unknown ones stay absent."""
    for name, value in (("cadence_source", c.source), ("ttft_s", c.ttft_s), ("tpot_s", c.tpot_s),
                        ("duration_s", c.duration_s), ("tokens_per_s", c.tokens_per_s),
                        ("first_chunk_time_unix_nano", c.first_chunk), ("last_chunk_time_unix_nano", c.last_chunk),
                        ("chunk_count", c.chunk_count), ("duplicate_chunks", c.duplicates),
                        ("out_of_order_chunks", c.out_of_order), ("gap_p50_s", c.gap_p50_s),
                        ("gap_p95_s", c.gap_p95_s), ("gap_max_s", c.gap_max_s)):
        if value is not None:
            setattr(record, name, value)
    if c.stalls is not None:
        record.stall_count = len(c.stalls)
        record.stalled_s = sum(s.gap_s for s in c.stalls)
        record.stalled = bool(c.stalls)


def stall_anomalies(record: StreamRecord, c: Cadence) -> list:
    return [anomaly_for(record, "stall", severity="warning", time_unix_nano=s.start_unix_nano,
                        detail=f"{s.gap_s:.3f} s between two chunks (stall threshold {c.stall_threshold_s:.3f} s)")
            for s in c.stalls or ()]


def _enrich(batch: Batch, work: StreamWork) -> None:
    record = work.record
    values = record_fields(record, _ENRICHED)
    anchored = record.cadence_source != "reported" or work.call.ttft_clock is not TtftClock.AFTER_HEADERS
    if record.HasField("ttft_s"):  # the semconv attribute is measured from the request start; OpenLIT's is not
        values[TTFC if anchored else PREFIX + "ttft_s"] = record.ttft_s
    enrich(batch, work, values)
