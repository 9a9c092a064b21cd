"""The stream processor reads each streamed LLM span at once and passes it on enriched; it holds the trace's pieces
for `wait` after the last one, joins what arrives later (logs, HTTP attempts, sibling calls), then emits the final
records, within its bounds."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from pydantic import ValidationError

from processor.conventions import read_llm_call, select
from processor.model.batch import Batch, Signal
from processor.processors.stream.config import StreamConfig
from processor.processors.stream.processor import FINAL_SLICE
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer
from tests.stream.builders import MS, T0, TRACE, choice_log, llm_span, plain_span, traces
from tests.stream.pipeline import Clock, frozen, logs_instance, stream

LLM = b"\x01" * 8


def _added(span) -> dict:
    """The attributes stream processing added to a span."""
    return {kv.key: kv.value for kv in span.attributes
            if kv.key.startswith("tokenstream.") or kv.key.startswith("gen_ai.response.")}


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
    await stream(sink, **options).consume(Batch(Signal.TRACES, request))
    (batch,) = sink.batches
    assert batch.request.SerializeToString() == before
    assert (batch.streams, batch.anomalies, batch.chunks) == ([], [], [])


async def test_llm_span_goes_on_at_once_and_its_record_after_the_wait():
    sink = SinkConsumer()
    processor = stream(sink, wait=0.05)
    await processor.start(None)
    try:
        await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, chunks=[T0 + 300 * MS]))))
        assert sink.item_count == 1 and sink.streams == []
        assert _added(sink.spans()[0])["tokenstream.chunk_count"].int_value == 1  # enriched on its way through
        await _wait_for_streams(sink, 1)
    finally:
        await processor.shutdown()
    final = sink.batches[-1]  # from the background flush: a batch of its own
    assert final.item_count() == 0 and [r.span_id for r in final.streams] == [LLM]
    assert [c.span_id for c in final.chunks] == [LLM] and len(sink.streams) == 1


async def test_once_the_wait_expired_the_record_rides_on_the_next_span_batch():
    sink, clock = SinkConsumer(), Clock()
    with frozen(clock):
        processor = stream(sink, wait="5s")
        await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, chunks=[T0 + 300 * MS]))))
        clock.now += 4.9
        await processor.consume(Batch(Signal.TRACES, traces(plain_span())))
        assert sink.streams == []
        clock.now += 0.2
        await processor.consume(Batch(Signal.TRACES, traces(plain_span(b"\x08" * 8))))
    assert [len(b.streams) for b in sink.batches] == [0, 0, 1]
    assert sink.batches[-1].item_count() == 1 and sink.streams[0].span_id == LLM


async def test_traces_expiring_together_go_out_a_slice_at_a_time_each_once_oldest_first():
    """A burst of traces expiring at once: the next span batch carries the oldest FINAL_SLICE calls' records, the rest
    follow as batches of their own, none bigger, while the loop runs other work between them."""
    sink, clock = SinkConsumer(), Clock()
    count = 2 * FINAL_SLICE + 5
    ids = [i.to_bytes(16, "big") for i in range(1, count + 1)]
    with frozen(clock):
        processor = stream(sink, wait="5s", max_traces=1000)
        for trace_id in ids:
            await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, trace_id=trace_id))))
        clock.now += 6
        await processor.consume(Batch(Signal.TRACES, traces(plain_span())))
        carrier = sink.batches[-1]
        assert carrier.item_count() == 1 and [r.trace_id for r in carrier.streams] == ids[:FINAL_SLICE]
        for _ in range(100):  # others' turns come first: the slices follow within a few turns
            if len(sink.streams) == count:
                break
            await asyncio.sleep(0)
        await processor.shutdown()
    assert [r.trace_id for r in sink.streams] == ids
    assert max(len(b.streams) for b in sink.batches) == FINAL_SLICE
    assert sum(1 for b in sink.batches if b.streams) == 3


class _Gate:
    """Downstream that takes batches in but answers none of them until it is opened (a batch processor waiting
    for its timeout, then for Kafka)."""

    def __init__(self) -> None:
        self.entered: list[Batch] = []
        self.open = asyncio.Event()

    async def consume(self, batch: Batch) -> None:
        self.entered.append(batch)
        await self.open.wait()


async def test_slices_go_downstream_side_by_side_not_each_after_the_last_was_answered():
    gate, clock = _Gate(), Clock()
    count = 3 * FINAL_SLICE
    with frozen(clock):
        processor = stream(gate, wait="5s", max_traces=1000)
        gate.open.set()
        for i in range(count):
            await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, trace_id=(i + 1).to_bytes(16, "big")))))
        gate.open.clear()
        clock.now += 6
        carrier = asyncio.create_task(processor.consume(Batch(Signal.TRACES, traces(plain_span()))))
        for _ in range(100):
            if sum(len(b.streams) for b in gate.entered) == count:
                break
            await asyncio.sleep(0)
        assert sum(len(b.streams) for b in gate.entered) == count  # all in, none answered yet
        gate.open.set()
        await carrier
        await processor.shutdown()


async def test_shutdown_emits_slices_still_due():
    sink, clock = SinkConsumer(), Clock()
    count = FINAL_SLICE + 3
    with frozen(clock):
        processor = stream(sink, wait="5s", max_traces=1000)
        for i in range(count):
            await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, trace_id=(i + 1).to_bytes(16, "big")))))
        clock.now += 6
        await processor.consume(Batch(Signal.TRACES, traces(plain_span())))
        await processor.shutdown()  # before the slice left over had its turn
    assert len(sink.streams) == count and len({r.trace_id for r in sink.streams}) == count


async def test_a_log_from_the_logs_pipeline_is_joined_whether_it_comes_before_or_after_its_span():
    shared: dict = {}
    spans_out, logs_out = SinkConsumer(), SinkConsumer()
    in_traces = stream(spans_out, wait=30, shared=shared)
    in_logs = logs_instance(logs_out, wait=30, shared=shared)
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
    processor = stream(sink, wait=30, max_traces=1, telemetry=telemetry)
    await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, trace_id=b"a" * 16))))
    await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, trace_id=b"b" * 16))))
    assert [r.trace_id for r in sink.batches[1].streams] == [b"a" * 16]
    assert telemetry.registry.get_sample_value("tokenstream_stream_evicted_traces_total",
                                               {"processor": "stream", "reason": "max_traces"}) == 1


async def test_http_attempts_and_sibling_calls_arriving_later_are_joined_into_the_record():
    """Joins that arrive after the span change the record, not the span (it went on at once)."""
    sink = SinkConsumer()
    processor = stream(sink, wait=30)
    retry = llm_span(LLM, start=T0 + 600 * MS, chunks=[T0 + 900 * MS], finish_reason="stop")
    failed = plain_span(b"\x0b" * 8, name="POST", kind=Span.SPAN_KIND_CLIENT, parent=LLM, start=T0 + 600 * MS,
                        status=Status.STATUS_CODE_ERROR)
    answered = plain_span(b"\x0c" * 8, name="POST", kind=Span.SPAN_KIND_CLIENT, parent=LLM, start=T0 + 700 * MS)
    cut = llm_span(b"\x02" * 8, chunks=[T0 + 300 * MS], end=T0 + 500 * MS, status=Status.STATUS_CODE_ERROR)
    await processor.consume(Batch(Signal.TRACES, traces(failed)))  # before its call
    await processor.consume(Batch(Signal.TRACES, traces(retry)))
    await processor.consume(Batch(Signal.TRACES, traces(answered, cut)))  # after it
    await processor.shutdown()
    record = next(r for r in sink.streams if r.span_id == LLM)
    assert (record.http_attempts, record.ttft_includes_retry) == (2, True)
    assert (record.attempt, record.partial_attempt_span_id) == (1, b"\x02" * 8)
    at_receipt = _added(next(s for s in sink.spans() if s.span_id == LLM))
    assert at_receipt["tokenstream.attempt"].int_value == 0  # the cut sibling came later
    assert at_receipt["tokenstream.http_attempts"].int_value == 1  # only the attempt held before it


async def test_a_call_that_did_not_stream_gets_no_record():
    sink = SinkConsumer()
    processor = stream(sink, wait=0)
    await processor.consume(Batch(Signal.TRACES, traces(llm_span(LLM, nonstream=True))))
    await processor.shutdown()
    assert sink.streams == [] and sink.anomalies == []
    (span,) = sink.spans()
    assert span.span_id == LLM and _added(span) == {}


def test_an_unknown_convention_name_is_a_config_error():
    with pytest.raises(ValidationError, match="unknown convention"):
        StreamConfig(conventions=["openllmetry", "nope"])
    assert StreamConfig(conventions=["openllmetry"]).conventions == ["openllmetry"]


async def test_a_trace_kept_alive_by_logs_whose_spans_never_come_is_bounded_and_counted():
    """Before: every such log record was kept (a copy) and renewed the trace's hold, without a bound."""
    telemetry, shared = SelfTelemetry(), {}
    processor = logs_instance(shared=shared, telemetry=telemetry, wait=30, max_trace_pieces=100)
    for i in range(1000):
        await processor.consume(Batch(Signal.LOGS, choice_log(i.to_bytes(8, "big"), "stop")))
    assert processor.store.get(TRACE).pieces <= 100
    value = telemetry.registry.get_sample_value
    assert value("tokenstream_stream_evicted_traces_total",
                 {"processor": "stream", "reason": "max_trace_pieces"}) == 9
    assert value("tokenstream_stream_dropped_pieces_total", {"processor": "stream", "kind": "log"}) \
        == 9 * 101


def test_the_bounds_default_to_what_a_busy_gateway_needs():
    config = StreamConfig()
    assert (config.max_traces, config.max_trace_pieces, config.max_held_bytes) == (10000, 1000, 64 << 20)
