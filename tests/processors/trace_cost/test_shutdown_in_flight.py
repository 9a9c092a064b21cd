"""Shutdown while the background flush is handing expired rollups downstream: none of them is lost."""

from __future__ import annotations

import asyncio

from processor.component import Kind
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord
from processor.processors.trace_cost import factory
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import HeldConsumer, create_settings


async def test_rollups_popped_by_the_flusher_arrive_when_shutdown_comes_mid_send():
    sink = HeldConsumer(holds=lambda batch: bool(batch.trace_costs))  # slow to take the rollups, as a broker
    processor = factory.create(create_settings("trace_cost", Kind.PROCESSOR),
                               factory.config_model.model_validate({"wait": "50ms"}), sink)
    await processor.start(Host(SelfTelemetry()))
    traces = [bytes([n]) * 16 for n in range(1, 5)]
    records = [StreamRecord(trace_id=trace, span_id=trace[:8], cost_usd=0.25) for trace in traces]
    await processor.consume(Batch(Signal.TRACES, Batch.empty(Signal.TRACES).request, streams=records))
    await asyncio.wait_for(sink.entered.wait(), 5)  # the flusher popped the expired rollups and is sending them
    shutdown = asyncio.create_task(processor.shutdown())
    await asyncio.sleep(0.05)  # shutdown has cancelled the flusher by now
    sink.release.set()
    await asyncio.wait_for(shutdown, 5)
    delivered = [rollup.trace_id for batch in sink.batches for rollup in batch.trace_costs]
    assert sorted(delivered) == traces
