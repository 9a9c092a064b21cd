"""Shutdown while the background flush is handing expired traces downstream: none of them is lost."""

from __future__ import annotations

import asyncio

from processor.model.batch import Batch, Signal
from processor.testing import SinkConsumer
from tests.processors.stream_reconstruct.test_labels import _processor, _traffic


class _SlowSink(SinkConsumer):
    """Holds every emitted batch until released, as a downstream waiting for a broker's acknowledgement does."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def consume(self, batch: Batch) -> None:
        if batch.streams:
            self.entered.set()
            await self.release.wait()
        await super().consume(batch)


async def test_stream_records_popped_by_the_flusher_arrive_when_shutdown_comes_mid_send():
    sink = _SlowSink()
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
