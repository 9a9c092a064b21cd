"""trace_cost: per-trace rollups of the stream records' cost, tokens and retries, emitted after `wait`."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from processor.component import Kind
from processor.errors import RetryableError
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord
from processor.processors.trace_cost import factory
from processor.processors.trace_cost.processor import TraceCostProcessor
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import FailingConsumer, SinkConsumer, create_settings
from tests.stream.builders import MS, T0, llm_span, traces
from tests.stream.pipeline import default_chain

PRICES = {"openai/gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6}}
T1, T2 = b"\x01" * 16, b"\x02" * 16


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(sink, *, clock=None, telemetry=None, **config) -> TraceCostProcessor:
    settings = create_settings("trace_cost", Kind.PROCESSOR, telemetry=telemetry)
    return TraceCostProcessor(settings, factory.config_model.model_validate(config), sink, clock=clock or Clock())


def record(trace_id: bytes, n: int, **fields) -> StreamRecord:
    return StreamRecord(trace_id=trace_id, span_id=bytes([n]) * 8, **fields)


def rollups(sink) -> list:
    return [c for b in sink.batches for c in b.trace_costs]


async def consume(processor, *records) -> None:
    await processor.consume(Batch(Signal.TRACES, Batch.empty(Signal.TRACES).request, streams=list(records)))


async def test_a_rollup_sums_the_streams_of_its_trace():
    sink = SinkConsumer()
    processor = make(sink)
    await consume(processor,
                  record(T1, 1, route="/chat", tenant="acme", service="api", cost_usd=0.010, input_tokens=100,
                         output_tokens=40, start_time_unix_nano=T0 + 5, end_time_unix_nano=T0 + 90),
                  record(T2, 9, route="/other", cost_usd=1.0, input_tokens=1, output_tokens=1))
    await consume(processor, record(T1, 2, cost_usd=0.025, input_tokens=300, output_tokens=60,
                                    start_time_unix_nano=T0, end_time_unix_nano=T0 + 50),
                  record(T1, 3, input_tokens=7))  # unpriced: the total is a lower bound
    await processor.shutdown()
    by_trace = {c.trace_id: c for c in rollups(sink)}
    first = by_trace[T1]
    assert (first.route, first.tenant, first.service) == ("/chat", "acme", "api")
    assert first.cost_usd == pytest.approx(0.035)
    assert (first.input_tokens, first.output_tokens) == (407, 100)
    assert (first.stream_count, first.unpriced_streams, first.retry_count) == (3, 1, 0)
    assert first.retry_cost_usd == 0 and first.retry_share == 0
    assert (first.start_time_unix_nano, first.end_time_unix_nano) == (T0, T0 + 90)
    assert by_trace[T2].cost_usd == pytest.approx(1.0) and by_trace[T2].route == "/other"
    assert len(rollups(sink)) == 2  # once per trace


async def test_a_trace_without_priced_streams_has_no_cost():
    sink = SinkConsumer()
    processor = make(sink)
    await consume(processor, record(T1, 1, route="/chat"))
    await processor.flush()
    (only,) = rollups(sink)
    assert not only.HasField("cost_usd") and not only.HasField("retry_share") and not only.HasField("input_tokens")
    assert only.unpriced_streams == 1


async def test_retries_after_a_partial_stream_pay_twice_through_the_stream_processor():
    sink = SinkConsumer()
    cost = make(sink)
    head = default_chain(cost, prices=PRICES, wait=30)
    chunks = [T0 + 300 * MS + i * 50 * MS for i in range(5)]
    # The first attempt fails after chunks (usage reported), the app retries it, the retry completes.
    partial = llm_span(b"\x01" * 8, chunks=chunks, status=Status.STATUS_CODE_ERROR, output_tokens=5,
                       input_tokens=1000)
    retry = llm_span(b"\x02" * 8, start=T0 + 2000 * MS, chunks=[t + 2000 * MS for t in chunks],
                     finish_reason="stop", output_tokens=200, input_tokens=1000)
    await head.consume(Batch(Signal.TRACES, traces(partial)))
    await head.consume(Batch(Signal.TRACES, traces(retry)))
    await head.shutdown()
    await cost.shutdown()
    first, second = sink.streams
    assert second.retried_after_partial and second.partial_attempt_span_id == first.span_id
    (rollup,) = rollups(sink)
    partial_cost = (1000 * 0.15 + 5 * 0.6) / 1e6
    retry_cost = (1000 * 0.15 + 200 * 0.6) / 1e6
    assert rollup.cost_usd == pytest.approx(partial_cost + retry_cost)
    assert rollup.retry_count == 1 and rollup.stream_count == 2
    assert rollup.retry_cost_usd == pytest.approx(partial_cost + retry_cost)  # both paid for the one answer
    assert rollup.retry_share == pytest.approx(1.0)
    assert (rollup.input_tokens, rollup.output_tokens) == (2000, 205)


async def test_a_plain_retry_counts_only_itself_and_a_record_seen_twice_counts_once():
    sink = SinkConsumer()
    processor = make(sink)
    first = record(T1, 1, cost_usd=0.3, output_tokens=10)
    await consume(processor, first, record(T1, 2, attempt=1, cost_usd=0.1, retried_after_partial=False))
    await consume(processor, first)
    await processor.flush()
    (rollup,) = rollups(sink)
    assert rollup.cost_usd == pytest.approx(0.4) and rollup.output_tokens == 10 and rollup.stream_count == 2
    assert rollup.retry_cost_usd == pytest.approx(0.1) and rollup.retry_share == pytest.approx(0.25)


async def test_a_rollup_waits_after_the_last_record_then_rides_on_the_next_batch():
    sink, clock = SinkConsumer(), Clock()
    processor = make(sink, clock=clock, wait="10s")
    await consume(processor, record(T1, 1, cost_usd=0.1))
    clock.now += 8
    await consume(processor, record(T1, 2, cost_usd=0.2))  # restarts the wait
    clock.now += 8
    await consume(processor)
    assert rollups(sink) == []
    clock.now += 3
    await consume(processor)
    (rollup,) = rollups(sink)
    assert rollup.cost_usd == pytest.approx(0.3)


async def test_the_background_flush_emits_after_the_wait():
    sink = SinkConsumer()
    processor = factory.create(create_settings("trace_cost", Kind.PROCESSOR),
                               factory.config_model.model_validate({"wait": "50ms"}), sink)
    await processor.start(Host(SelfTelemetry()))
    try:
        await consume(processor, record(T1, 1, cost_usd=0.5))
        async with asyncio.timeout(5):
            while not rollups(sink):
                await asyncio.sleep(0.01)
        (rollup,) = rollups(sink)
        assert rollup.cost_usd == 0.5
        assert sink.batches[-1].item_count() == 0  # a batch of its own, with an empty request
    finally:
        await processor.shutdown()
    assert len(rollups(sink)) == 1


async def test_over_max_traces_the_oldest_goes_early_and_is_counted():
    sink, telemetry = SinkConsumer(), SelfTelemetry()
    processor = make(sink, telemetry=telemetry, max_traces=2)
    await consume(processor, *(record(bytes([n]) * 16, n, cost_usd=n) for n in (1, 2, 3)))
    assert [c.trace_id[0] for c in rollups(sink)] == [1]
    assert telemetry.registry.get_sample_value("tokenstream_trace_cost_early_traces_total",
                                               {"processor": "trace_cost"}) == 1


async def test_flush_raises_what_downstream_raised():
    """The Flushable contract: the kafka receiver flushes before it gives up its partitions and must hear of a
    refusal (it used to be logged and swallowed)."""
    processor = make(SinkConsumer())
    await consume(processor, record(T1, 1, route="/chat"))
    processor.next = FailingConsumer(RetryableError("kafka is down"))  # down once the rollup is held
    with pytest.raises(RetryableError, match="kafka is down"):
        await processor.flush()
