"""What the `stream` processor derives from each streamed call, as one computation per moment.

At receipt (the call's span is at hand) the derivations fill the record and give the attributes its span is
enriched with, in one `enrich` per span. For a final record (after `wait`) they fill the record and give its
anomalies. Each section of the config adds its part, in the order the sections are documented: cadence, retries,
truncation, cost; a section turned off adds nothing.
"""

from __future__ import annotations

from typing import Any

from processor.conventions.base import LlmCall, TtftClock
from processor.model.batch import Batch
from processor.model.chunks import StreamChunks
from processor.model.records import StreamAnomaly, StreamRecord, anomaly_for
from processor.processors.stream.config import CostSection, Price, StreamConfig
from processor.stream.cadence_math import Cadence, measure
from processor.stream.enrich import PREFIX, enrich, record_fields
from processor.stream.outcome import ABORTED, TRUNCATED, Outcome, classify_outcome, finish_reason
from processor.stream.retries import RetryInfo, detect
from processor.stream.work import StreamWork, TraceState

TTFC = "gen_ai.response.time_to_first_chunk"
FINISH_REASONS = "gen_ai.response.finish_reasons"
_CADENCE_FIELDS = ("tpot_s", "tokens_per_s", "chunk_count", "gap_p50_s", "gap_p95_s", "gap_max_s", "stall_count",
                   "stalled_s", "stalled", "duplicate_chunks", "out_of_order_chunks", "cadence_source")
_RETRY_FIELDS = ("attempt", "retried_after_partial", "unmarked_retry", "http_attempts", "ttft_includes_retry")
_OUTCOME_FIELDS = ("outcome", "truncation_reason", "ambiguous_outcome")


class Derivations:
    def __init__(self, config: StreamConfig) -> None:
        self.cadence = config.cadence
        self.retries = config.retries
        self.truncation = config.truncation
        self.prices = config.cost.prices if isinstance(config.cost, CostSection) else {}

    def at_receipt(self, batch: Batch, works: list[StreamWork]) -> None:
        """Fill each receipt-time record and enrich its span with what was derived."""
        enrichments = [self._cadence_at_receipt(work) for work in works]
        # after cadence: retry detection anchors a reported TTFT at the trace's HTTP attempts (streamed_calls), which
        # the span's own TTFT attribute does not count from
        retries = self._retries(works)
        for work, values in zip(works, enrichments, strict=True):
            record = work.record
            info = retries.get((id(work.trace), record.span_id))
            if info is not None:
                fill_retry(record, info)
                values.update(record_fields(record, _RETRY_FIELDS))
                if record.partial_attempt_span_id:
                    values[PREFIX + "partial_attempt_span_id"] = record.partial_attempt_span_id
            if self.truncation is not None:
                fill_outcome(record, work, classify_outcome(work.call))
                values.update(record_fields(record, _OUTCOME_FIELDS))
                reason = finish_reason(work.call)
                if reason is not None:
                    values[FINISH_REASONS] = [reason]
            cost = cost_usd(record, self.prices)
            if cost is not None:
                record.cost_usd = cost
                values[PREFIX + "cost_usd"] = cost
            enrich(batch, work, values)

    def _cadence_at_receipt(self, work: StreamWork) -> dict[str, Any]:
        if self.cadence is None:
            return {}
        record = work.record
        fill_cadence(record, self._measure(work))
        values = record_fields(record, _CADENCE_FIELDS)
        if record.HasField("ttft_s"):  # the semconv attribute is measured from the request start; OpenLIT's is not
            anchored = record.cadence_source != "reported" or work.call.ttft_clock is not TtftClock.AFTER_HEADERS
            values[TTFC if anchored else PREFIX + "ttft_s"] = record.ttft_s
        return values

    def final(self, batch: Batch, works: list[StreamWork]) -> None:
        """Fill each final record and add its anomalies (stalls, then retries, then outcomes, as the sections
        come) and its chunk arrivals."""
        if self.cadence is not None:
            for work in works:
                cadence = self._measure(work)
                fill_cadence(work.record, cadence)
                batch.anomalies.extend(stall_anomalies(work.record, cadence))
                if cadence.chunk_times:
                    batch.chunks.append(StreamChunks(work.record.span_id, cadence.chunk_times, tuple(cadence.stalls)))
        retries = self._retries(works, final=True)
        for work in works:
            info = retries.get((id(work.trace), work.record.span_id))
            if info is not None:
                fill_retry(work.record, info)
                batch.anomalies.extend(retry_anomalies(work.record))
        if self.truncation is not None:
            for work in works:
                outcome = classify_outcome(work.call)
                fill_outcome(work.record, work, outcome)
                anomaly = outcome_anomaly(work.record, outcome)
                if anomaly is not None:
                    batch.anomalies.append(anomaly)
        for work in works:
            cost = cost_usd(work.record, self.prices)
            if cost is not None:
                work.record.cost_usd = cost

    def _measure(self, work: StreamWork) -> Cadence:
        return measure(work.call, stall_gap_s=self.cadence.stall_gap, stall_factor=self.cadence.stall_factor)

    def _retries(self, works: list[StreamWork], *, final: bool = False) -> dict[tuple[int, bytes], RetryInfo]:
        """RetryInfo by (trace, span id): one detection per trace. `final`: the works are every streamed call of
        their traces (`TraceState.streamed_calls`, in order), so detection reads their calls, not the held ones
        again."""
        if self.retries is None:
            return {}
        found: dict[tuple[int, bytes], RetryInfo] = {}
        by_trace: dict[int, tuple[TraceState, list[LlmCall]]] = {}
        for work in works:
            by_trace.setdefault(id(work.trace), (work.trace, []))[1].append(work.call)
        markers = frozenset(self.retries.markers)
        for key, (trace, calls) in by_trace.items():
            detected = detect(trace, window_s=self.retries.window, markers=markers, calls=calls if final else None)
            for span_id, info in detected.items():
                found[(key, span_id)] = info
        return found


def fill_cadence(record: StreamRecord, c: Cadence) -> None:
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


def stall_anomalies(record: StreamRecord, c: Cadence) -> list[StreamAnomaly]:
    return [anomaly_for(record, "stall", severity="warning", time_unix_nano=s.start_unix_nano,
                        detail=f"{s.gap_s:.3f} s between two chunks (stall threshold {c.stall_threshold_s:.3f} s)")
            for s in c.stalls or ()]


def fill_retry(record: StreamRecord, info: RetryInfo) -> None:
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


def fill_outcome(record: StreamRecord, work: StreamWork, outcome: Outcome) -> None:
    record.outcome = outcome.outcome
    if outcome.truncation_reason is not None:
        record.truncation_reason = outcome.truncation_reason
    lookalike = outcome.lookalike(work.call)
    if lookalike is not None:
        record.ambiguous_outcome = lookalike


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


def price_for(record: StreamRecord, prices: dict[str, Price]) -> Price | None:
    """By provider and response model, then request model, then `provider/*`."""
    provider = record.provider if record.HasField("provider") else ""
    for field in ("response_model", "request_model"):
        if record.HasField(field):
            price = prices.get(f"{provider}/{getattr(record, field)}")
            if price is not None:
                return price
    return prices.get(f"{provider}/*")


def cost_usd(record: StreamRecord, prices: dict[str, Price]) -> float | None:
    if not prices or not (record.HasField("input_tokens") and record.HasField("output_tokens")):
        return None
    price = price_for(record, prices)
    if price is None:
        return None
    return (record.input_tokens * price.input_per_million + record.output_tokens * price.output_per_million) / 1e6


def _first_set(record: StreamRecord, *names: str) -> Any:
    for name in names:
        if record.HasField(name):
            return getattr(record, name)
    return None
