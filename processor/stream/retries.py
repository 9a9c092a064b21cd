"""Retry detection as pure functions over one trace's pieces.

App-level: LLM calls under the same parent with the same operation and model, each starting within `window`
of the previous one's end, where the previous one failed (error, abort, truncation) form one chain of attempts.
A retry after a failed attempt that delivered chunks is a retry after partial output.

SDK-level: more than one HTTP client span under one LLM span, an earlier one failed: the SDK retried inside
the call, so a TTFT measured from the span start includes the failed attempt and the backoff.
"""

from __future__ import annotations

from dataclasses import dataclass

from processor.conventions.base import LlmCall, TtftClock
from processor.stream.outcome import classify_outcome, delivered_chunks
from processor.stream.work import TraceState

_NS = 1_000_000_000
_OVERLAP_NS = 1_000_000  # tolerance for span end and start times read from different clock calls


@dataclass(slots=True)
class RetryInfo:
    attempt: int = 0
    partial_attempt_span_id: bytes | None = None
    #: True/False for a retry (app- or SDK-level), by whether it carried a marker; None when not a retry.
    unmarked: bool | None = None
    http_attempts: int | None = None
    ttft_includes_retry: bool | None = None


def detect(trace: TraceState, *, window_s: float, markers: frozenset[str],
           calls: list[LlmCall] | None = None) -> dict[bytes, RetryInfo]:
    """RetryInfo for every streamed call of the trace, by span id. `calls`: the trace's `streamed_calls()`, when
    the caller has them already (each is a held call restored)."""
    found: dict[bytes, RetryInfo] = {}
    last_of_chain: dict[tuple, tuple[LlmCall, RetryInfo]] = {}
    orphans = sorted(trace.orphan_attempts(), key=lambda a: a.end)
    for call in trace.streamed_calls() if calls is None else calls:
        record = call.record
        info = found[record.span_id] = RetryInfo()
        key = (record.parent_span_id, record.operation, record.request_model)
        previous = last_of_chain.get(key)
        if previous is not None and _retries(previous[0], call, window_s):
            info.attempt = previous[1].attempt + 1
            if delivered_chunks(previous[0]):
                info.partial_attempt_span_id = previous[0].record.span_id
            info.unmarked = not markers.intersection(call.retry_markers)
        elif (lost := _lost_attempt_before(call, orphans, window_s)) is not None:
            orphans.remove(lost)
            info.attempt = 1
            info.partial_attempt_span_id = lost.parent_span_id
            info.unmarked = not markers.intersection(call.retry_markers)
        last_of_chain[key] = (call, info)
        _sdk_level(trace, call, info, markers)
    return found


def _lost_attempt_before(call: LlmCall, orphans: list, window_s: float):  # noqa: ANN202 - HttpAttempt | None
    """An HTTP attempt whose LLM span was never exported, answered (2xx) and over within `window` before this call
    started: an earlier attempt that had begun streaming and did not complete (OpenLIT drops such spans)."""
    start = call.record.start_time_unix_nano
    earlier = [a for a in orphans if not a.failed and a.parent_span_id != call.record.span_id
               and -_OVERLAP_NS <= start - a.end <= window_s * _NS]
    return earlier[-1] if earlier else None


def _retries(earlier: LlmCall, later: LlmCall, window_s: float) -> bool:
    e, lat = earlier.record, later.record
    ended = e.end_time_unix_nano if e.HasField("end_time_unix_nano") else e.start_time_unix_nano
    # A retry starts once the failure was seen: a call running alongside the failed one is not its retry.
    after_it = -_OVERLAP_NS <= lat.start_time_unix_nano - ended <= window_s * _NS
    return after_it and classify_outcome(earlier).failed


def _sdk_level(trace: TraceState, call: LlmCall, info: RetryInfo, markers: frozenset[str]) -> None:
    attempts = trace.http_under(call.record.span_id)
    if not attempts and call.failed_attempts:  # the library exported each attempt as a span (Vercel's doStream)
        info.http_attempts = call.failed_attempts + 1
        info.ttft_includes_retry = True  # the record starts with the app's call, before the failed attempts
        return
    if not attempts:
        return
    info.http_attempts = len(attempts)
    if len(attempts) < 2 or not any(a.failed for a in attempts[:-1]):
        return
    measured_from_start = bool(call.chunk_times) or call.first_token_time is not None \
        or call.ttft_clock is not TtftClock.AFTER_HEADERS or call.ttft_from is not None
    info.ttft_includes_retry = measured_from_start
    retried = attempts[1:]
    if any(not markers.intersection(a.attribute_keys) for a in retried):
        info.unmarked = True
    elif info.unmarked is None:
        info.unmarked = False
