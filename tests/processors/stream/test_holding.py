from __future__ import annotations

import asyncio

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from pydantic import ValidationError

from processor.component import Kind
from processor.conventions import read_llm_call, select
from processor.model.batch import Batch, Signal
from processor.processors.stream_reconstruct.config import StreamReconstructConfig
from processor.processors.stream_reconstruct.processor import StreamReconstructProcessor
from processor.service.telemetry import SelfTelemetry
from processor.stream.work import works
from processor.testing import SinkConsumer, create_settings
from tests.stream.builders import MS, T0, TRACE, AttrConvention, choice_log, llm_span, plain_span, read_with, traces
from tests.stream.pipeline import reconstruct

LLM = b"\x01" * 8


async def _wait_for_streams(sink: SinkConsumer, count: int, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while len(sink.streams) < count:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("real", [False, True], ids=["test-convention", "real-conventions"])
async def test_spans_without_llm_attributes_pass_through_byte_identical(real):
    request = traces(plain_span(), plain_span(b"\x08" * 8, name="SELECT users", kind=Span.SPAN_KIND_CLIENT),
                     plain_span(b"\x07" * 8, name="POST", kind=Span.SPAN_KIND_CLIENT, parent=LLM,
                                http_response_status_code=200))
    before = request.SerializeToString()
    sink = SinkConsumer()
    options = {"conventions": select(["auto"]), "read": read_llm_call} if real else {}
    await reconstruct(sink, **options).consume(Batch(Signal.TRACES, request))
    assert sink.batches[0].request.SerializeToString() == before
    assert sink.batches[0].extra == {} and sink.streams == []


async def test_llm_span_goes_on_at_once_and_its_record_after_the_wait():
    sink = SinkConsumer()
    processor = reconstruct(sink, wait=0.05)
    await processor.start(None)
    try:
        await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, chunks=[T0 + 300 * MS]))))
        assert sink.item_count == 1 and sink.streams == []
        assert [w.span.span_id for w in works(sink.batches[0])] == [LLM]
        await _wait_for_streams(sink, 1)
    finally:
        await processor.shutdown()
    final = sink.batches[-1]
    assert final.item_count() == 0 and [r.span_id for r in final.streams] == [LLM]
    assert works(final)[0].final and works(final)[0].record is final.streams[0]


async def test_a_log_from_the_logs_pipeline_is_joined_whether_it_comes_before_or_after_its_span():
    shared: dict = {}
    spans_out, logs_out = SinkConsumer(), SinkConsumer()
    in_traces = reconstruct(spans_out, wait=30, shared=shared)
    in_logs = reconstruct(logs_out, wait=30, shared=shared, signals=(Signal.LOGS,))
    await in_logs.consume(Batch(Signal.LOGS, choice_log(b"\x01" * 8, "length")))  # before its span
    await in_traces.consume(Batch(Signal.TRACES, traces(llm_span(b"\x01" * 8), llm_span(b"\x02" * 8))))
    await in_logs.consume(Batch(Signal.LOGS, choice_log(b"\x02" * 8, "stop")))  # after its span
    assert logs_out.item_count == 2
    await in_logs.shutdown()
    assert spans_out.streams == []
    await in_traces.shutdown()  # flushes what it holds
    assert {r.span_id[0]: r.finish_reason for r in spans_out.streams} == {1: "length", 2: "stop"}


async def test_beyond_max_traces_the_oldest_trace_is_emitted_early_and_counted():
    telemetry = SelfTelemetry()
    sink = SinkConsumer()
    processor = reconstruct(sink, wait=30, max_traces=1, telemetry=telemetry)
    await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, trace_id=b"a" * 16))))
    await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, trace_id=b"b" * 16))))
    assert [r.trace_id for r in sink.batches[1].streams] == [b"a" * 16]
    assert telemetry.registry.get_sample_value("tokenstream_stream_evicted_traces_total",
                                               {"processor": "stream_reconstruct", "reason": "max_traces"}) == 1


async def test_http_attempts_and_sibling_calls_arriving_later_are_joined_into_the_record():
    sink = SinkConsumer()
    processor = reconstruct(sink, wait=30)
    http = plain_span(b"\x0b" * 8, name="POST", kind=Span.SPAN_KIND_CLIENT, parent=LLM,
                      status=Status.STATUS_CODE_ERROR)
    await processor.consume(Batch(Signal.TRACES, traces(http)))
    await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM))))
    await processor.shutdown()
    (work,) = [w for b in sink.batches for w in works(b) if w.final]
    assert [a.span_id for a in work.trace.http] == [b"\x0b" * 8] and work.trace.http[0].failed


async def test_a_call_that_did_not_stream_gets_no_record():
    sink = SinkConsumer()
    processor = reconstruct(sink, wait=0)
    await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, nonstream=True))))
    await processor.shutdown()
    assert sink.streams == [] and works(sink.batches[0]) == []
    assert sink.batches[0].request.resource_spans[0].scope_spans[0].spans[0].span_id == LLM


def test_an_unknown_convention_name_is_a_config_error():
    with pytest.raises(ValidationError, match="unknown convention"):
        StreamReconstructConfig(conventions=["openllmetry", "nope"])
    assert StreamReconstructConfig(conventions=["openllmetry"]).conventions == ["openllmetry"]


async def test_a_trace_kept_alive_by_logs_whose_spans_never_come_is_bounded_and_counted():
    """Before: every such log record was kept (a copy) and renewed the trace's hold, without a bound."""
    telemetry, shared = SelfTelemetry(), {}
    settings = create_settings("stream_reconstruct", Kind.PROCESSOR, signals=(Signal.LOGS,), shared=shared,
                               telemetry=telemetry)
    config = StreamReconstructConfig(wait=30, max_trace_pieces=100)
    processor = StreamReconstructProcessor(settings, config, SinkConsumer(), conventions=[AttrConvention()],
                                           read=read_with)
    for i in range(1000):
        await processor.consume(Batch(Signal.LOGS, choice_log(i.to_bytes(8, "big"), "stop")))
    assert processor.store.get(TRACE).pieces <= 100
    value = telemetry.registry.get_sample_value
    assert value("tokenstream_stream_evicted_traces_total",
                 {"processor": "stream_reconstruct", "reason": "max_trace_pieces"}) == 9
    assert value("tokenstream_stream_dropped_pieces_total", {"processor": "stream_reconstruct", "kind": "log"}) \
        == 9 * 101


def test_the_bounds_default_to_what_a_busy_gateway_needs():
    config = StreamReconstructConfig()
    assert (config.max_traces, config.max_trace_pieces, config.max_held_bytes) == (10000, 1000, 64 << 20)
