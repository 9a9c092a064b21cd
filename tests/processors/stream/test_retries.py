from __future__ import annotations

from processor.conventions.base import SpanStatus
from processor.processors.retry_detect.config import RetryDetectConfig
from processor.processors.retry_detect.processor import RetryDetectProcessor
from processor.stream.work import HttpAttempt
from processor.testing import SinkConsumer
from tests.stream.builders import MS, T0, make_call
from tests.stream.pipeline import final_batch, settings_for


def _retry_detect(sink, **config):
    return RetryDetectProcessor(settings_for("retry_detect"), RetryDetectConfig(**config), sink)


async def test_a_retry_after_a_cut_off_stream_is_flagged_with_both_anomalies():
    cut = make_call(b"\x01" * 8, chunks=[T0 + 300 * MS], end=T0 + 500 * MS, status=SpanStatus.ERROR)
    retry = make_call(b"\x02" * 8, start=T0 + 600 * MS, chunks=[T0 + 900 * MS], finish_reason="stop")
    sink = SinkConsumer()
    await _retry_detect(sink).consume(final_batch(cut, retry))
    first, second = sink.streams
    assert (first.attempt, first.HasField("retried_after_partial")) == (0, False)
    assert (second.attempt, second.retried_after_partial, second.partial_attempt_span_id) == (1, True, b"\x01" * 8)
    assert second.unmarked_retry
    assert [(a.kind, a.span_id) for a in sink.anomalies] == [("retry_after_partial", b"\x02" * 8),
                                                             ("unmarked_retry", b"\x02" * 8)]


async def test_a_retry_carrying_a_configured_marker_is_not_unmarked():
    cut = make_call(b"\x01" * 8, chunks=[T0 + 300 * MS], end=T0 + 500 * MS, status=SpanStatus.ERROR)
    retry = make_call(b"\x02" * 8, start=T0 + 600 * MS, retry_markers={"x.retry": 1})
    sink = SinkConsumer()
    await _retry_detect(sink, markers=["x.retry"]).consume(final_batch(cut, retry))
    assert sink.streams[1].unmarked_retry is False
    assert [a.kind for a in sink.anomalies] == ["retry_after_partial"]


async def test_sdk_retries_under_one_call_set_attempts_and_flag_the_ttft():
    call = make_call(b"\x01" * 8, chunks=[T0 + 520 * MS], finish_reason="stop")
    http = [HttpAttempt(b"\x0b" * 8, b"\x01" * 8, T0, T0 + MS, True, frozenset()),
            HttpAttempt(b"\x0c" * 8, b"\x01" * 8, T0 + 200 * MS, T0 + 600 * MS, False, frozenset())]
    sink = SinkConsumer()
    await _retry_detect(sink).consume(final_batch(call, http=http))
    (record,) = sink.streams
    assert (record.http_attempts, record.ttft_includes_retry, record.unmarked_retry) == (2, True, True)
    assert [a.kind for a in sink.anomalies] == ["unmarked_retry"]
