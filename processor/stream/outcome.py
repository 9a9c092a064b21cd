"""How a stream ended, from what its span (and joined logs) tell: one pure function that the `stream` processor's
truncation section and retry detection both use, so the two always agree on what failed."""

from __future__ import annotations

from dataclasses import dataclass

from processor.conventions.base import LlmCall, SpanStatus

COMPLETED, TRUNCATED, ABORTED, ERROR = "completed", "truncated", "aborted", "error"
#: Finish reasons that mean the output was cut short, and the truncation_reason each gives.
_TRUNCATING = {"length": "length", "max_tokens": "length", "content_filter": "content_filter"}
#: Values some libraries put where no finish reason was received (openai-v2 writes "error", OpenLIT "").
_NO_FINISH = {"", "error"}


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: str
    truncation_reason: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome != COMPLETED

    def lookalike(self, call: LlmCall) -> str | None:
        """The other outcome the call's library exports the same way as this one, if any."""
        key = self.outcome if self.truncation_reason is None else f"{self.outcome}/{self.truncation_reason}"
        return call.lookalikes.get(key)


def delivered_chunks(call: LlmCall) -> bool:
    """At least one chunk reached the app, as far as the span tells."""
    if call.chunk_times or call.first_token_time is not None or call.reported_ttft_s is not None:
        return True
    if call.response_started:
        return True
    record = call.record
    if record.HasField("chunk_count") and record.chunk_count > 0:
        return True
    if bool(call.completion_text):
        return True
    return record.HasField("output_tokens") and record.output_tokens > 0 and not call.usage_estimated


def finish_reason(call: LlmCall) -> str | None:
    record = call.record
    reason = record.finish_reason if record.HasField("finish_reason") else None
    return None if reason in _NO_FINISH else reason


def _reached_token_limit(call: LlmCall) -> bool:
    """Real usage at the request's `max_tokens`: the model was stopped there (for a library that exports no finish
    reason)."""
    record = call.record
    return (call.max_output_tokens is not None and record.HasField("output_tokens") and not call.usage_estimated
            and record.output_tokens >= call.max_output_tokens and call.status is not SpanStatus.ERROR)


def classify_outcome(call: LlmCall) -> Outcome:
    """The issue's table: length / content_filter (or, without a finish reason, output at the token limit) ->
    truncated; consumer closed or error after the first chunk
    -> aborted; error before any chunk -> error; chunks then no finish reason and no real usage -> cutoff."""
    reason = finish_reason(call)
    if reason in _TRUNCATING:
        return Outcome(TRUNCATED, _TRUNCATING[reason])
    if reason is None and _reached_token_limit(call):
        return Outcome(TRUNCATED, "length")
    delivered = delivered_chunks(call)
    if call.consumer_closed:
        return Outcome(ABORTED)
    if call.status is SpanStatus.ERROR:
        return Outcome(ABORTED if delivered else ERROR)
    if reason is None and call.status is SpanStatus.UNSET and call.unset_means_incomplete and delivered:
        return Outcome(ABORTED)
    real_usage = call.record.HasField("output_tokens") and not call.usage_estimated
    if reason is None and delivered and not real_usage:
        return Outcome(TRUNCATED, "cutoff")
    return Outcome(COMPLETED)
