"""flush(): what the kafka receiver calls before a rebalance takes its partitions away."""

from __future__ import annotations

import pytest

from processor.errors import RetryableError
from processor.model.batch import Batch, Signal
from processor.testing import FailingConsumer, SinkConsumer
from tests.processors.stream.test_labels import _processor, _traffic


async def test_flush_emits_every_held_trace_at_once():
    sink = SinkConsumer()
    processor = _processor(sink, wait="1h")
    request, plans = _traffic(3)
    await processor.consume(Batch(Signal.TRACES, request))
    assert sink.streams == []
    await processor.flush()
    assert len(sink.streams) == len(plans)


async def test_flush_raises_when_downstream_refuses_so_the_receiver_does_not_commit():
    processor = _processor(SinkConsumer(), wait="1h")
    await processor.consume(Batch(Signal.TRACES, _traffic(1)[0]))
    processor.next = FailingConsumer(RetryableError("queue full"))
    with pytest.raises(RetryableError):
        await processor.flush()
