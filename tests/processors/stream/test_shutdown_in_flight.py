"""Shutdown while the background flush is handing expired traces downstream: none of them is lost."""

from __future__ import annotations

import asyncio

from processor.model.batch import Batch, Signal
from processor.testing import HeldConsumer
from tests.processors.stream.test_labels import _processor, _traffic


async def test_stream_records_popped_by_the_flusher_arrive_when_shutdown_comes_mid_send():
    sink = HeldConsumer(holds=lambda batch: bool(batch.streams))  # slow to take the records, as a broker
    processor = _processor(sink, wait="50ms")
    await processor.start(None)
    request, plans = _traffic(4)
    await processor.consume(Batch(Signal.TRACES, request))
    await asyncio.wait_for(sink.entered.wait(), 5)  # the flusher popped the expired traces and is sending them
    shutdown = asyncio.create_task(processor.shutdown())
    await asyncio.sleep(0.05)
    sink.release.set()
    await asyncio.wait_for(shutdown, 5)
    assert len(sink.streams) == len(plans)
