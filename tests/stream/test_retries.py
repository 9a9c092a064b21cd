from __future__ import annotations

from processor.conventions.base import SpanStatus, TtftClock
from processor.stream.retries import detect
from processor.stream.work import HttpAttempt, TraceState
from tests.stream.builders import MS, T0, make_call

MARKERS = frozenset({"http.request.resend_count"})


def trace_of(*calls, http=()) -> TraceState:
    trace = TraceState(b"t" * 16, http=tuple(http))
    for call in calls:
        trace.put(call.record.span_id, call)
    return trace


def test_a_call_after_a_cut_off_stream_is_a_retry_after_partial_output():
    first = make_call(b"\x01" * 8, chunks=[T0 + 300 * MS], end=T0 + 600 * MS, status=SpanStatus.ERROR)
    second = make_call(b"\x02" * 8, start=T0 + 700 * MS, chunks=[T0 + 1000 * MS], finish_reason="stop",
                       output_tokens=5)
    found = detect(trace_of(second, first), window_s=60, markers=MARKERS)
    assert found[first.record.span_id].attempt == 0
    retry = found[second.record.span_id]
    assert (retry.attempt, retry.partial_attempt_span_id, retry.unmarked) == (1, b"\x01" * 8, True)


def test_a_marked_retry_of_an_error_before_any_chunk_is_not_after_partial():
    first = make_call(b"\x01" * 8, end=T0 + 100 * MS, status=SpanStatus.ERROR)
    second = make_call(b"\x02" * 8, start=T0 + 200 * MS, retry_markers={"http.request.resend_count": 1})
    retry = detect(trace_of(first, second), window_s=60, markers=MARKERS)[second.record.span_id]
    assert (retry.attempt, retry.partial_attempt_span_id, retry.unmarked) == (1, None, False)


def test_calls_after_a_completed_one_or_outside_the_window_or_for_another_model_are_not_retries():
    done = make_call(b"\x01" * 8, chunks=[T0 + 300 * MS], end=T0 + 400 * MS, finish_reason="stop", output_tokens=1)
    cut = make_call(b"\x02" * 8, start=T0 + 500 * MS, chunks=[T0 + 600 * MS], end=T0 + 700 * MS)
    late = make_call(b"\x03" * 8, start=T0 + 700 * MS + 61_000 * MS)
    other_model = make_call(b"\x04" * 8, start=T0 + 800 * MS, model="gpt-4o")
    found = detect(trace_of(done, cut, late, other_model), window_s=60, markers=MARKERS)
    assert [found[c.record.span_id].attempt for c in (done, cut, late, other_model)] == [0, 0, 0, 0]


def test_two_http_attempts_under_one_call_the_first_failed_flags_the_ttft():
    call = make_call(b"\x01" * 8, chunks=[T0 + 520 * MS], finish_reason="stop", output_tokens=1)
    http = [HttpAttempt(b"\x0b" * 8, b"\x01" * 8, T0 + 10 * MS, T0 + 20 * MS, True, frozenset()),
            HttpAttempt(b"\x0c" * 8, b"\x01" * 8, T0 + 200 * MS, T0 + 600 * MS, False, frozenset())]
    info = detect(trace_of(call, http=http), window_s=60, markers=MARKERS)[call.record.span_id]
    assert (info.http_attempts, info.ttft_includes_retry, info.unmarked, info.attempt) == (2, True, True, 0)


def test_a_ttft_from_after_the_headers_is_anchored_at_the_last_attempt_so_it_includes_the_retry():
    call = make_call(b"\x01" * 8, reported_ttft_s=0.3, ttft_clock=TtftClock.AFTER_HEADERS)
    marked = frozenset({"http.request.resend_count"})
    http = [HttpAttempt(b"\x0b" * 8, b"\x01" * 8, T0, T0 + MS, True, frozenset()),
            HttpAttempt(b"\x0c" * 8, b"\x01" * 8, T0 + 2 * MS, T0 + 3 * MS, False, marked)]
    trace = trace_of(call, http=http)
    info = detect(trace, window_s=60, markers=MARKERS)[call.record.span_id]
    assert (info.http_attempts, info.ttft_includes_retry, info.unmarked) == (2, True, False)
    (anchored,) = trace.streamed_calls()
    assert anchored.ttft_from == T0 + 3 * MS  # the headers of the attempt that succeeded


def test_a_ttft_from_after_the_headers_without_http_spans_is_not_anchored():
    call = make_call(b"\x01" * 8, reported_ttft_s=0.3, ttft_clock=TtftClock.AFTER_HEADERS)
    (read,) = trace_of(call).streamed_calls()
    assert read.ttft_from is None


def test_one_http_attempt_is_counted_and_nothing_else():
    call = make_call(b"\x01" * 8)
    http = [HttpAttempt(b"\x0b" * 8, b"\x01" * 8, T0, T0 + MS, False, frozenset())]
    info = detect(trace_of(call, http=http), window_s=60, markers=MARKERS)[call.record.span_id]
    assert (info.http_attempts, info.ttft_includes_retry, info.unmarked) == (1, None, None)


def test_a_call_running_alongside_a_failed_one_is_not_its_retry():
    failed = make_call(b"\x01" * 8, chunks=[T0 + 300 * MS], end=T0 + 600 * MS, status=SpanStatus.ERROR)
    parallel = make_call(b"\x02" * 8, start=T0 + 100 * MS, end=T0 + 900 * MS)
    assert detect(trace_of(failed, parallel), window_s=60, markers=MARKERS)[b"\x02" * 8].attempt == 0
