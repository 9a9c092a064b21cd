"""retry_detect: app-level retries after partial output and SDK-level retries inside one call
(processor.stream.retries). Final records get `retry_after_partial` and `unmarked_retry` anomalies."""

from __future__ import annotations

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.model.batch import Batch
from processor.model.records import StreamAnomaly, StreamRecord, anomaly_for
from processor.processors.retry_detect.config import RetryDetectConfig
from processor.stream.enrich import PREFIX, enrich, record_fields
from processor.stream.retries import RetryInfo, detect
from processor.stream.work import works

_ENRICHED = ("attempt", "retried_after_partial", "unmarked_retry", "http_attempts", "ttft_includes_retry")


class RetryDetectProcessor(ComponentBase):
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: RetryDetectConfig, next_consumer: Consumer) -> None:
        self.next = next_consumer
        self.window = config.window
        self.markers = frozenset(config.markers)

    async def consume(self, batch: Batch) -> None:
        by_trace: dict[int, dict[bytes, RetryInfo]] = {}  # one detection per trace and batch
        for work in works(batch):
            found = by_trace.get(id(work.trace))
            if found is None:
                found = by_trace[id(work.trace)] = detect(work.trace, window_s=self.window, markers=self.markers)
            info = found.get(work.record.span_id)
            if info is None:
                continue
            fill(work.record, info)
            if work.final:
                batch.anomalies.extend(retry_anomalies(work.record))
            else:
                values = record_fields(work.record, _ENRICHED)
                if work.record.partial_attempt_span_id:
                    values[PREFIX + "partial_attempt_span_id"] = work.record.partial_attempt_span_id
                enrich(batch, work, values)
        await self.next.consume(batch)


def fill(record: StreamRecord, info: RetryInfo) -> None:
    record.attempt = info.attempt
    if info.partial_attempt_span_id is not None:
        record.retried_after_partial = True
        record.partial_attempt_span_id = info.partial_attempt_span_id
    elif info.attempt:
        record.retried_after_partial = False
    if info.unmarked is not None:
        record.unmarked_retry = info.unmarked
    if info.http_attempts is not None:
        record.http_attempts = info.http_attempts
    if info.ttft_includes_retry is not None:
        record.ttft_includes_retry = info.ttft_includes_retry


def retry_anomalies(record: StreamRecord) -> list[StreamAnomaly]:
    found = []
    start = record.start_time_unix_nano if record.HasField("start_time_unix_nano") else None
    if record.retried_after_partial:
        found.append(anomaly_for(record, "retry_after_partial", severity="warning", time_unix_nano=start,
                                 detail=f"attempt {record.attempt} retries span "
                                        f"{record.partial_attempt_span_id.hex()}, which had already streamed output"))
    if record.unmarked_retry:
        found.append(anomaly_for(record, "unmarked_retry", severity="info", time_unix_nano=start,
                                 detail="a retry without any retry marker attribute"))
    return found
