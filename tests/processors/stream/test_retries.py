"""The stream processor's `retries` section: app-level retries after partial output and SDK-level retries inside
one call, with their anomalies."""

from __future__ import annotations

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from processor.model.batch import Batch, Signal
from processor.testing import SinkConsumer
from tests.stream.builders import MS, T0, llm_span, plain_span, traces
from tests.stream.pipeline import stream

ONLY = {"cadence": False, "cost": False, "content_check": False}  # truncation: a retry follows a failed call
CUT = b"\x01" * 8
RETRY = b"\x02" * 8


async def _run(*spans, **retries) -> SinkConsumer:
    sink = SinkConsumer()
    processor = stream(sink, retries=retries, **ONLY)
    for span in spans:  # one batch each, as an app exports them
        await processor.consume(Batch(Signal.TRACES, traces(span)))
    await processor.shutdown()
    return sink


def _cut_and_retry(**retry_attributes):
    cut = llm_span(CUT, chunks=[T0 + 300 * MS], end=T0 + 500 * MS, status=Status.STATUS_CODE_ERROR)
    retry = llm_span(RETRY, start=T0 + 600 * MS, chunks=[T0 + 900 * MS], finish_reason="stop")
    for key, value in retry_attributes.items():
        retry.attributes.add(key=key).value.int_value = value
    return cut, retry


async def test_a_retry_after_a_cut_off_stream_is_flagged_with_both_anomalies():
    sink = await _run(*_cut_and_retry())
    first, second = sink.streams
    assert (first.attempt, first.HasField("retried_after_partial")) == (0, False)
    assert (second.attempt, second.retried_after_partial, second.partial_attempt_span_id) == (1, True, CUT)
    assert second.unmarked_retry
    assert [(a.kind, a.span_id) for a in sink.anomalies if a.kind != "abort"] == [("retry_after_partial", RETRY),
                                                                                   ("unmarked_retry", RETRY)]


async def test_a_retry_carrying_a_configured_marker_is_not_unmarked():
    sink = await _run(*_cut_and_retry(**{"x.retry": 1}), markers=["x.retry"])
    assert sink.streams[1].unmarked_retry is False
    assert [a.kind for a in sink.anomalies if a.kind != "abort"] == ["retry_after_partial"]


async def test_the_default_marker_is_http_resend_count():
    sink = await _run(*_cut_and_retry(**{"http.request.resend_count": 1}))
    assert sink.streams[1].unmarked_retry is False


async def test_a_call_later_than_the_window_is_no_retry():
    cut, retry = _cut_and_retry()
    sink = await _run(cut, retry, window="50ms")
    assert [r.attempt for r in sink.streams] == [0, 0]
    assert not any(a.kind in ("retry_after_partial", "unmarked_retry") for a in sink.anomalies)


async def test_sdk_retries_under_one_call_set_attempts_and_flag_the_ttft():
    call = llm_span(CUT, chunks=[T0 + 520 * MS], finish_reason="stop")
    failed = plain_span(b"\x0b" * 8, name="POST", kind=Span.SPAN_KIND_CLIENT, parent=CUT, start=T0,
                        status=Status.STATUS_CODE_ERROR)
    answered = plain_span(b"\x0c" * 8, name="POST", kind=Span.SPAN_KIND_CLIENT, parent=CUT, start=T0 + 200 * MS,
                          http_response_status_code=200)
    sink = await _run(failed, answered, call)
    (record,) = sink.streams
    assert (record.http_attempts, record.ttft_includes_retry, record.unmarked_retry) == (2, True, True)
    assert [a.kind for a in sink.anomalies] == ["unmarked_retry"]
