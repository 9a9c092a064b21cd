"""truncation: sets `outcome` and `truncation_reason` (processor.stream.outcome.classify_outcome).

A final record that was truncated gets a `truncation` anomaly, an aborted one an `abort` anomaly.
"""

from __future__ import annotations

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.model.batch import Batch
from processor.model.records import StreamAnomaly, StreamRecord, anomaly_for
from processor.processors.truncation.config import TruncationConfig
from processor.stream.enrich import enrich, record_fields
from processor.stream.outcome import ABORTED, TRUNCATED, Outcome, classify_outcome, finish_reason
from processor.stream.work import works

FINISH_REASONS = "gen_ai.response.finish_reasons"


class TruncationProcessor(ComponentBase):
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: TruncationConfig, next_consumer: Consumer) -> None:
        self.next = next_consumer

    async def consume(self, batch: Batch) -> None:
        for work in works(batch):
            outcome = classify_outcome(work.call)
            record = work.record
            record.outcome = outcome.outcome
            if outcome.truncation_reason is not None:
                record.truncation_reason = outcome.truncation_reason
            lookalike = outcome.lookalike(work.call)
            if lookalike is not None:
                record.ambiguous_outcome = lookalike
            if work.final:
                anomaly = outcome_anomaly(record, outcome)
                if anomaly is not None:
                    batch.anomalies.append(anomaly)
            else:
                values = record_fields(record, ("outcome", "truncation_reason", "ambiguous_outcome"))
                reason = finish_reason(work.call)
                if reason is not None:
                    values[FINISH_REASONS] = [reason]
                enrich(batch, work, values)
        await self.next.consume(batch)


def outcome_anomaly(record: StreamRecord, outcome: Outcome) -> StreamAnomaly | None:
    note = (f" (or {record.ambiguous_outcome}: the {record.convention} export does not tell them apart)"
            if record.HasField("ambiguous_outcome") else "")
    if outcome.outcome == TRUNCATED:
        time = _first_set(record, "last_chunk_time_unix_nano", "end_time_unix_nano")
        return anomaly_for(record, "truncation", severity="warning", time_unix_nano=time,
                           detail=f"stream truncated: {outcome.truncation_reason}{note}")
    if outcome.outcome == ABORTED:
        why = record.error_type if record.HasField("error_type") else "closed before the end"
        return anomaly_for(record, "abort", severity="warning", time_unix_nano=_first_set(record, "end_time_unix_nano"),
                           detail=f"stream aborted: {why}{note}")
    return None


def _first_set(record: StreamRecord, *names: str) -> int | None:
    for name in names:
        if record.HasField(name):
            return getattr(record, name)
    return None
