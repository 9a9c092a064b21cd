"""Rollups downstream refuses are held again and sent later, never dropped silently; given up only for good or when
shutdown runs out of time, and then counted."""

from __future__ import annotations

import asyncio

import pytest

from processor.component import Kind
from processor.errors import PermanentError, RetryableError
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord
from processor.processors.trace_cost import factory
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer, create_settings

T1, T2 = b"\x01" * 16, b"\x02" * 16


class Refusing:
    """Refuses every batch carrying rollups while `error` is set; passes the rest to a sink."""

    mutates_data = False

    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.sink = SinkConsumer()
        self.refused = 0

    async def consume(self, batch: Batch) -> None:
        if self.error is not None and batch.trace_costs:
            self.refused += 1
            raise self.error
        await self.sink.consume(batch)

    def rollups(self) -> list:
        return [c for b in self.sink.batches for c in b.trace_costs]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(downstream, telemetry: SelfTelemetry, wait: str = "20ms"):
    settings = create_settings("trace_cost", Kind.PROCESSOR, telemetry=telemetry)
    return factory.create(settings, factory.config_model.model_validate({"wait": wait}), downstream)


def record(trace_id: bytes, n: int, **fields) -> StreamRecord:
    return StreamRecord(trace_id=trace_id, span_id=bytes([n]) * 8, **fields)


async def consume(processor, *records) -> None:
    await processor.consume(Batch(Signal.TRACES, Batch.empty(Signal.TRACES).request, streams=list(records)))


def lost(telemetry: SelfTelemetry) -> float | None:
    return telemetry.registry.get_sample_value("tokenstream_trace_cost_lost_rollups_total",
                                               {"processor": "trace_cost"})


async def wait_for(condition, seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_rollup_the_background_flush_had_refused_arrives_once_downstream_takes_it_again():
    telemetry = SelfTelemetry()
    downstream = Refusing(RetryableError("sending queue is full"))
    processor = make(downstream, telemetry)
    await processor.start(Host(telemetry))
    try:
        await consume(processor, record(T1, 1, cost_usd=0.5, input_tokens=10))
        await wait_for(lambda: downstream.refused >= 2)  # refused, held again, refused again
        downstream.error = None
        await wait_for(downstream.rollups)
    finally:
        await processor.shutdown()
    (rollup,) = downstream.rollups()
    assert (rollup.trace_id, rollup.cost_usd, rollup.input_tokens) == (T1, 0.5, 10)
    assert lost(telemetry) == 0


async def test_a_refused_rollup_and_the_later_records_of_its_trace_leave_as_one():
    telemetry = SelfTelemetry()
    downstream = Refusing(RetryableError("sending queue is full"))
    processor = make(downstream, telemetry, wait="10s")  # nothing comes due by itself
    await consume(processor, record(T1, 1, cost_usd=0.5, input_tokens=10, route="/chat"))
    with pytest.raises(RetryableError):
        await processor.flush()  # the kafka receiver giving up its partitions, refused
    await consume(processor, record(T1, 1, cost_usd=0.5, input_tokens=99), record(T1, 2, cost_usd=0.25,
                                                                                   input_tokens=5, route="/other"))
    downstream.error = None
    await processor.flush()
    (rollup,) = downstream.rollups()
    assert rollup.stream_count == 2
    assert rollup.cost_usd == pytest.approx(0.75)
    assert rollup.input_tokens == 15  # the stream seen twice counts its first record's tokens once
    assert rollup.route == "/chat"  # the first record's label
    assert lost(telemetry) == 0


async def test_rollups_riding_on_a_refused_batch_leave_with_the_next_one():
    telemetry = SelfTelemetry()
    downstream = Refusing(None)
    processor = make(downstream, telemetry, wait="10s")
    processor.clock = clock = Clock()
    await consume(processor, record(T1, 1, cost_usd=0.5))
    clock.now += 11  # due: it rides on the next batch
    downstream.error = RetryableError("memory limit")
    with pytest.raises(RetryableError):
        await consume(processor, record(T2, 2, cost_usd=0.25))
    downstream.error = None
    await consume(processor)
    assert [r.trace_id for r in downstream.rollups()] == [T1]


async def test_shutdown_sends_refused_rollups_again_until_they_are_taken():
    telemetry = SelfTelemetry()
    downstream = Refusing(RetryableError("sending queue is full"))
    processor = make(downstream, telemetry, wait="10s")
    await consume(processor, record(T1, 1, cost_usd=0.5))
    shutdown = asyncio.create_task(processor.shutdown())
    await wait_for(lambda: downstream.refused >= 2)
    downstream.error = None
    await asyncio.wait_for(shutdown, 10)
    assert [r.trace_id for r in downstream.rollups()] == [T1]
    assert lost(telemetry) == 0


async def test_rollups_are_counted_lost_when_shutdown_runs_out_of_time():
    telemetry = SelfTelemetry()
    downstream = Refusing(RetryableError("sending queue is full"))
    processor = make(downstream, telemetry, wait="10s")
    await consume(processor, record(T1, 1), record(T2, 2))
    shutdown = asyncio.create_task(processor.shutdown())
    await wait_for(lambda: downstream.refused >= 1)
    shutdown.cancel()  # the service's shutdown_timeout
    with pytest.raises(asyncio.CancelledError):
        await shutdown
    assert lost(telemetry) == 2


async def test_rollups_refused_for_good_are_counted_lost_at_once():
    telemetry = SelfTelemetry()
    downstream = Refusing(PermanentError("record too large"))
    processor = make(downstream, telemetry)
    await processor.start(Host(telemetry))
    try:
        await consume(processor, record(T1, 1))
        await wait_for(lambda: lost(telemetry) == 1)
    finally:
        await processor.shutdown()
    assert downstream.refused == 1  # not sent again
