from __future__ import annotations

from processor.conventions.base import SpanStatus
from processor.processors.truncation.config import TruncationConfig
from processor.processors.truncation.processor import TruncationProcessor
from processor.testing import SinkConsumer
from tests.stream.builders import MS, T0, llm_span, make_call, traces
from tests.stream.pipeline import final_batch, receipt_batch, settings_for

CHUNKS = [T0 + 300 * MS, T0 + 350 * MS]


async def _run(*calls):
    sink = SinkConsumer()
    await TruncationProcessor(settings_for("truncation"), TruncationConfig(), sink).consume(final_batch(*calls))
    return sink


async def test_a_cut_off_stream_is_truncated_with_an_anomaly():
    sink = await _run(make_call(chunks=CHUNKS, end=T0 + 400 * MS))
    assert [(r.outcome, r.truncation_reason) for r in sink.streams] == [("truncated", "cutoff")]
    assert [(a.kind, a.detail) for a in sink.anomalies] == [("truncation", "stream truncated: cutoff")]
    assert sink.anomalies[0].time_unix_nano == T0 + 400 * MS  # no cadence ran: the span end


async def test_an_abort_and_an_error_and_a_completed_stream():
    sink = await _run(make_call(b"\x01" * 8, chunks=CHUNKS, status=SpanStatus.ERROR),
                      make_call(b"\x02" * 8, start=T0 + 1, status=SpanStatus.ERROR),
                      make_call(b"\x03" * 8, start=T0 + 2, chunks=CHUNKS, finish_reason="stop", output_tokens=2))
    assert [r.outcome for r in sink.streams] == ["aborted", "error", "completed"]
    assert not any(r.HasField("truncation_reason") for r in sink.streams)
    assert [(a.kind, a.span_id[0]) for a in sink.anomalies] == [("abort", 1)]


async def test_the_span_gets_outcome_and_the_semconv_finish_reason_when_it_lacks_one():
    sink = SinkConsumer()
    request = traces(llm_span(b"\x01" * 8, chunks=CHUNKS))
    call = make_call(chunks=CHUNKS, finish_reason="length")
    truncation = TruncationProcessor(settings_for("truncation"), TruncationConfig(), sink)
    await truncation.consume(receipt_batch(request, call))
    attrs = {kv.key: kv.value for kv in sink.spans()[0].attributes}
    assert attrs["tokenstream.outcome"].string_value == "truncated"
    assert attrs["tokenstream.truncation_reason"].string_value == "length"
    assert [v.string_value for v in attrs["gen_ai.response.finish_reasons"].array_value.values] == ["length"]
    assert sink.anomalies == []
