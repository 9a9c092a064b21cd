"""The stream processor's `truncation` section: outcome and truncation reason, truncation and abort anomalies,
and the span's outcome and semconv finish reason."""

from __future__ import annotations

from opentelemetry.proto.trace.v1.trace_pb2 import Status

from processor.model.batch import Batch, Signal
from processor.testing import SinkConsumer
from tests.stream.builders import MS, T0, llm_span, traces
from tests.stream.pipeline import stream

CHUNKS = [T0 + 300 * MS, T0 + 350 * MS]
ONLY = {"retries": False, "cost": False, "content_check": False}


async def _run(*spans, **sections) -> SinkConsumer:
    sink = SinkConsumer()
    processor = stream(sink, **{**ONLY, **sections})
    await processor.consume(Batch(Signal.TRACES, traces(*spans)))
    await processor.shutdown()
    return sink


async def test_a_cut_off_stream_is_truncated_with_an_anomaly():
    sink = await _run(llm_span(b"\x01" * 8, chunks=CHUNKS, end=T0 + 400 * MS), cadence=False)
    assert [(r.outcome, r.truncation_reason) for r in sink.streams] == [("truncated", "cutoff")]
    assert [(a.kind, a.detail) for a in sink.anomalies] == [("truncation", "stream truncated: cutoff")]
    assert sink.anomalies[0].time_unix_nano == T0 + 400 * MS  # no cadence ran: the span end


async def test_with_cadence_the_truncation_is_placed_at_the_last_chunk():
    sink = await _run(llm_span(b"\x01" * 8, chunks=CHUNKS, end=T0 + 400 * MS))
    assert [(a.kind, a.time_unix_nano) for a in sink.anomalies] == [("truncation", CHUNKS[-1])]


async def test_an_abort_and_an_error_and_a_completed_stream():
    error = Status.STATUS_CODE_ERROR
    sink = await _run(llm_span(b"\x01" * 8, chunks=CHUNKS, status=error),
                      llm_span(b"\x02" * 8, start=T0 + 1, status=error),
                      llm_span(b"\x03" * 8, start=T0 + 2, chunks=CHUNKS, finish_reason="stop", output_tokens=2))
    assert [r.outcome for r in sink.streams] == ["aborted", "error", "completed"]
    assert not any(r.HasField("truncation_reason") for r in sink.streams)
    assert [(a.kind, a.span_id[0]) for a in sink.anomalies] == [("abort", 1)]


async def test_the_span_gets_outcome_and_the_semconv_finish_reason_when_it_lacks_one():
    sink = SinkConsumer()
    span = llm_span(b"\x01" * 8, chunks=CHUNKS, finish_reason="length")
    await stream(sink, **ONLY).consume(Batch(Signal.TRACES, traces(span)))
    attrs = {kv.key: kv.value for kv in sink.spans()[0].attributes}
    assert attrs["tokenstream.outcome"].string_value == "truncated"
    assert attrs["tokenstream.truncation_reason"].string_value == "length"
    assert [v.string_value for v in attrs["gen_ai.response.finish_reasons"].array_value.values] == ["length"]
    assert sink.anomalies == []
