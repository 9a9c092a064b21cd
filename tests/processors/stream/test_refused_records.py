"""Final records downstream refuses are sent again until taken: no client stands behind them to retry (the bench's
lost stream records). Given up only when shutdown runs out of time, and then counted."""

from __future__ import annotations

import asyncio
import random

import pytest

from processor.component import Kind
from processor.errors import PermanentError, RetryableError
from processor.loadgen.profiles import draw
from processor.loadgen.spans import TraceBuilder
from processor.model.batch import Batch, Signal
from processor.processors.batch import factory as batch_factory
from processor.processors.stream import factory
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer, create_settings


class Refusing(SinkConsumer):
    """Refuses the first `times` batches that carry stream records, as a full or closing sending queue does."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times
        self.error = RetryableError("kafka exporter is shutting down")
        self.refused = 0
        self.resent = asyncio.Event()  # set on the second refusal

    async def consume(self, batch: Batch) -> None:
        if batch.streams and self.refused < self.times:
            self.refused += 1
            if self.refused == 2:
                self.resent.set()
            raise self.error
        await super().consume(batch)


def _stream(sink, telemetry: SelfTelemetry | None = None, **config):
    settings = create_settings("stream", Kind.PROCESSOR, signals=(Signal.TRACES,), telemetry=telemetry)
    return factory.create(settings, factory.config_model.model_validate(config), sink)


def _batch(sink):
    settings = create_settings("batch", Kind.PROCESSOR, signals=(Signal.TRACES,))
    return batch_factory.create(settings, batch_factory.config_model.model_validate({"timeout": "10ms"}), sink)


async def test_records_flushed_at_shutdown_that_the_exporter_refuses_are_sent_again():
    exporter = Refusing(times=2)
    batch = _batch(exporter)
    stream = _stream(batch, wait="1h")
    await stream.start(None)
    request, plans = _traffic(40, seed=1)  # more than one slice of final records
    await stream.consume(Batch(Signal.TRACES, request))
    await stream.shutdown()
    await batch.shutdown()
    assert exporter.refused == 2
    assert _calls(exporter.streams) == _calls_of(request) and len(exporter.streams) == len(plans)


async def test_records_riding_on_a_refused_span_batch_are_sent_again():
    """The client sends its refused spans again; the records of other traces the batch carried are this
    processor's to send again."""
    sink = Refusing(times=1)
    stream = _stream(sink, wait="10ms")  # no start(): nothing but span batches carries the records
    first, _ = _traffic(3, seed=1)
    await stream.consume(Batch(Signal.TRACES, first))
    await asyncio.sleep(0.05)  # the first traces' wait ends
    second, _ = _traffic(2, seed=2)
    with pytest.raises(RetryableError):
        await stream.consume(Batch(Signal.TRACES, second.__deepcopy__()))  # carries the first's records: refused
    await stream.consume(Batch(Signal.TRACES, second))  # the client sends its spans again
    await stream.shutdown()
    assert sink.refused == 1
    assert _calls(sink.streams) == _calls_of(first) | _calls_of(second)


async def test_records_still_refused_when_shutdown_runs_out_of_time_are_counted_as_lost():
    telemetry = SelfTelemetry()
    sink = Refusing(times=10**9)
    stream = _stream(sink, telemetry, wait="1h")
    request, plans = _traffic(3, seed=1)  # one slice: its first refusal is shutdown's send, the next a resend
    await stream.consume(Batch(Signal.TRACES, request))
    shutdown = asyncio.create_task(stream.shutdown())
    await asyncio.wait_for(sink.resent.wait(), 30)
    assert not shutdown.done()  # still sending them again
    shutdown.cancel()  # as the service's shutdown_timeout does
    with pytest.raises(asyncio.CancelledError):
        await shutdown
    lost = telemetry.registry.get_sample_value("tokenstream_stream_lost_records_total",
                                               {"processor": "stream", "kind": "streams"})
    assert lost == len(plans)


async def test_records_refused_for_good_are_counted_as_lost_at_once_not_sent_again():
    telemetry = SelfTelemetry()
    sink = Refusing(times=10**9)
    sink.error = PermanentError("the exporter cannot encode them")
    stream = _stream(sink, telemetry, wait="1h")
    request, plans = _traffic(3, seed=1)
    await stream.consume(Batch(Signal.TRACES, request))
    await asyncio.wait_for(stream.shutdown(), 30)  # returns: nothing is left to send again
    assert sink.refused == 1
    lost = telemetry.registry.get_sample_value("tokenstream_stream_lost_records_total",
                                               {"processor": "stream", "kind": "streams"})
    assert lost == len(plans)


def _traffic(count: int, *, seed: int):
    rng = random.Random(seed)
    builder = TraceBuilder(rng)
    plans = [draw("normal", rng) for _ in range(count)]
    for plan in plans:
        builder.add(plan)
    return builder.request, plans


def _calls(records) -> set[tuple[bytes, bytes]]:
    return {(r.trace_id, r.span_id) for r in records}


def _calls_of(request) -> set[tuple[bytes, bytes]]:
    """The streamed LLM calls of the traffic (each makes one record)."""
    return {(s.trace_id, s.span_id) for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
            if any(a.key.startswith(("gen_ai.", "llm.")) for a in s.attributes)}
