"""The shared export path: limits that hold for both transports."""

from __future__ import annotations

import asyncio

import pytest

from processor.component import Kind
from processor.model.batch import Signal
from processor.receivers.otlp.export import ExportHandler
from processor.receivers.otlp.failure import Failure
from processor.service.fanout import SignalRouter
from processor.testing import create_settings
from tests.receivers.otlp.otlp_helpers import good_span, trace_request


async def test_requests_over_the_in_flight_limit_are_refused_at_once_with_a_retry_delay():
    """An overload is refused, not queued: the bodies of waiting requests would outgrow memory."""
    release = asyncio.Event()

    class Slow:
        mutates_data = False

        async def consume(self, batch):
            await release.wait()

    handler = ExportHandler(create_settings("otlp", Kind.RECEIVER), SignalRouter({Signal.TRACES: Slow()}),
                            max_in_flight=2)
    held = [asyncio.ensure_future(handler.export(Signal.TRACES, trace_request(good_span()), "grpc"))
            for _ in range(2)]
    await asyncio.sleep(0.01)
    with pytest.raises(Failure) as refused:
        await handler.export(Signal.TRACES, trace_request(good_span()), "grpc")
    assert refused.value.http_status == 503 and refused.value.retry_after == 1.0
    release.set()
    await asyncio.gather(*held)
    await handler.export(Signal.TRACES, trace_request(good_span()), "grpc")  # room again
