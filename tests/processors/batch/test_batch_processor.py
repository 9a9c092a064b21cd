from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from processor.component import Kind
from processor.errors import RejectedSpans, RetryableError
from processor.model.batch import Batch, Signal
from processor.model.gen.tokenstream.v1.stream_pb2 import SloStatus, StreamFeedback, TraceCost
from processor.model.records import StreamAnomaly, StreamRecord
from processor.processors.batch import factory
from processor.processors.batch.config import BatchConfig
from processor.testing import FailingConsumer, SinkConsumer, create_settings


def make(sink, **config):
    """A batch processor; these tests send one batch at a time, so by default callers are not held until delivery
    (tests of `wait_for_delivery` are at the end)."""
    config.setdefault("wait_for_delivery", False)
    settings = create_settings("batch", Kind.PROCESSOR, pipeline="traces")
    return factory.create(settings, BatchConfig.model_validate(config), sink), settings.telemetry


def refused(telemetry) -> float:
    return telemetry.registry.get_sample_value("tokenstream_processor_refused_items_total",
                                               {"processor": "batch", "pipeline": "traces"}) or 0


async def test_small_batches_are_merged_and_sent_once_the_size_is_reached(build):
    sink = SinkConsumer()
    batch, _ = make(sink, send_batch_size=10, timeout="1h")
    for i in range(10):
        await batch.consume(build.traces([f"s{i}a", f"s{i}b", f"s{i}c"]))
    assert [b.item_count() for b in sink.batches] == [12, 12]
    await batch.shutdown()
    assert [b.item_count() for b in sink.batches] == [12, 12, 6]
    assert [n for b in sink.batches for n in build.names(b)] == [f"s{i}{c}" for i in range(10) for c in "abc"]


async def test_max_size_splits_batches_and_keeps_the_rest_pending(build):
    sink = SinkConsumer()
    batch, _ = make(sink, send_batch_size=10, send_batch_max_size=10, timeout="1h")
    await batch.consume(build.traces([f"x{i}" for i in range(25)]))
    assert [b.item_count() for b in sink.batches] == [10, 10]  # 5 wait for more
    await batch.consume(build.traces([f"y{i}" for i in range(3)]))
    assert [b.item_count() for b in sink.batches] == [10, 10]
    await batch.shutdown()
    assert [b.item_count() for b in sink.batches] == [10, 10, 8]
    expected = [f"x{i}" for i in range(25)] + [f"y{i}" for i in range(3)]
    assert [n for b in sink.batches for n in build.names(b)] == expected


async def test_timeout_sends_a_batch_that_did_not_fill(build):
    sink = SinkConsumer()
    batch, _ = make(sink, send_batch_size=1000, timeout="20ms")
    await batch.consume(build.traces(["a", "b"]))
    await batch.consume(build.traces(["c"]))
    await sink.wait_for_items(3, timeout=5)
    assert len(sink.batches) == 1 and build.names(sink.batches[0]) == ["a", "b", "c"]
    await batch.shutdown()
    assert len(sink.batches) == 1


async def test_zero_timeout_sends_every_batch_at_once(build):
    sink = SinkConsumer()
    batch, _ = make(sink, timeout=0)
    await batch.consume(build.traces(["a"]))
    assert [build.names(b) for b in sink.batches] == [["a"]]


async def test_signals_are_batched_separately(build):
    sink = SinkConsumer()
    batch, _ = make(sink, timeout="1h")
    await batch.consume(build.traces(["a"]))
    await batch.consume(build.logs(["hello"]))
    await batch.consume(build.traces(["b"]))
    await batch.shutdown()
    assert sorted((b.signal.value, b.item_count()) for b in sink.batches) == [("logs", 1), ("traces", 2)]


async def test_derived_records_stay_with_their_span(build):
    sink = SinkConsumer()
    batch, _ = make(sink, send_batch_size=2, send_batch_max_size=2, timeout="1h")
    incoming = build.traces(["a", "b", "c", "d"])
    d = incoming.request.resource_spans[0].scope_spans[0].spans[3]
    incoming.streams.append(StreamRecord(trace_id=d.trace_id, span_id=d.span_id))
    incoming.anomalies.append(StreamAnomaly(trace_id=d.trace_id, span_id=d.span_id, kind="stall"))
    await batch.consume(incoming)
    assert [build.names(b) for b in sink.batches] == [["a", "b"], ["c", "d"]]
    assert not sink.batches[0].streams and not sink.batches[0].anomalies
    assert [r.span_id for r in sink.batches[1].streams] == [d.span_id]
    assert [a.kind for a in sink.batches[1].anomalies] == ["stall"]


async def test_trace_costs_slo_status_and_feedback_survive_the_merge_and_go_with_the_first_part(build):
    sink = SinkConsumer()
    batch, _ = make(sink, send_batch_size=3, send_batch_max_size=3, timeout="1h")
    costs = [TraceCost(trace_id=bytes([n]) * 16, cost_usd=0.01 * n) for n in (1, 2)]
    first = build.traces(["a"])
    first.trace_costs.append(costs[0])
    statuses = Batch.empty(Signal.TRACES)  # as the slo or trace_cost processor's own batches: no spans
    statuses.slo_status.append(SloStatus(route="/chat", breached=True))
    joined = build.traces(["b"])
    joined.feedback.append(StreamFeedback(experience="stalled", verdict="down"))
    last = build.traces(["c", "d", "e", "f"])
    last.trace_costs.append(costs[1])
    for incoming in (first, statuses, joined, last):
        await batch.consume(incoming)
    assert [build.names(b) for b in sink.batches] == [["a", "b", "c"], ["d", "e", "f"]]  # merged, then split
    sent = sink.batches[0]
    assert sent.trace_costs == costs
    assert [(s.route, s.breached) for s in sent.slo_status] == [("/chat", True)]
    assert [(f.experience, f.verdict) for f in sent.feedback] == [("stalled", "down")]
    rest = sink.batches[1]
    assert not (rest.trace_costs or rest.slo_status or rest.feedback)


async def test_downstream_error_on_a_full_batch_reaches_the_caller(build):
    failing = FailingConsumer(RetryableError("kafka queue full", retry_after=2))
    batch, telemetry = make(failing, send_batch_size=2, timeout="1h")
    await batch.consume(build.traces(["a"]))
    with pytest.raises(RetryableError, match="kafka queue full"):
        await batch.consume(build.traces(["b"]))
    assert refused(telemetry) == 2


async def test_downstream_error_on_a_timed_send_is_logged_and_counted(build, caplog):
    failing = FailingConsumer(RuntimeError("disk on fire"))
    batch, telemetry = make(failing, send_batch_size=100, timeout="10ms")
    await batch.consume(build.traces(["a", "b", "c"]))  # accepted into the buffer
    for _ in range(500):
        if failing.calls:
            break
        await asyncio.sleep(0.01)
    await batch.shutdown()  # waits for the timed send
    assert failing.calls == 1 and refused(telemetry) == 3
    assert "disk on fire" in caplog.text


async def test_a_full_batch_waits_for_a_slow_downstream(build):
    release = asyncio.Event()

    class Slow(SinkConsumer):
        async def consume(self, b):
            await release.wait()
            await super().consume(b)

    sink = Slow()
    batch, _ = make(sink, send_batch_size=2, timeout="1h")
    await batch.consume(build.traces(["a"]))
    filling = asyncio.create_task(batch.consume(build.traces(["b"])))
    await asyncio.sleep(0.05)
    assert not filling.done()  # backpressure: the request that filled the batch waits for downstream
    release.set()
    await asyncio.wait_for(filling, 5)
    assert sink.item_count == 2


async def test_shutdown_sends_what_is_pending_and_late_data_passes_through(build):
    sink = SinkConsumer()
    batch, _ = make(sink, timeout="1h")
    await batch.consume(build.traces(["a"]))
    await batch.shutdown()
    assert sink.item_count == 1
    await batch.consume(build.traces(["late"]))
    assert build.names(sink.batches[-1]) == ["late"]


def test_max_size_below_size_is_a_config_error():
    with pytest.raises(ValidationError, match="send_batch_max_size .* is smaller than send_batch_size"):
        BatchConfig.model_validate({"send_batch_size": 100, "send_batch_max_size": 10})


def test_defaults_match_the_collector():
    config = BatchConfig()
    assert (config.send_batch_size, config.timeout, config.send_batch_max_size) == (8192, 0.2, 0)
    assert config.wait_for_delivery, "acknowledge only what has gone downstream, unless told otherwise"


async def test_with_wait_for_delivery_each_caller_returns_once_its_batch_is_delivered(build):
    sink = SinkConsumer()
    batch, _ = make(sink, send_batch_size=4, timeout="1h", wait_for_delivery=True)
    first = asyncio.ensure_future(batch.consume(build.traces(["a", "b"])))
    await asyncio.sleep(0.01)
    assert not first.done() and sink.item_count == 0, "nothing is acknowledged while it is only buffered"
    await batch.consume(build.traces(["c", "d"]))  # fills the batch: both callers' data goes out together
    await asyncio.wait_for(first, 1)
    assert [build.names(b) for b in sink.batches] == [["a", "b", "c", "d"]]


async def test_with_wait_for_delivery_a_timed_send_settles_its_callers(build):
    sink = SinkConsumer()
    batch, _ = make(sink, send_batch_size=100, timeout="20ms", wait_for_delivery=True)
    await asyncio.wait_for(asyncio.gather(batch.consume(build.traces(["a"])), batch.consume(build.traces(["b"]))), 2)
    assert sink.item_count == 2


async def test_with_wait_for_delivery_every_caller_of_a_refused_batch_gets_the_error(build):
    batch, telemetry = make(FailingConsumer(RetryableError("kafka down")), send_batch_size=100, timeout="20ms",
                            wait_for_delivery=True)
    results = await asyncio.wait_for(asyncio.gather(batch.consume(build.traces(["a"])),
                                                    batch.consume(build.traces(["b"])), return_exceptions=True), 2)
    assert [type(r) for r in results] == [RetryableError, RetryableError]
    assert refused(telemetry) == 2


async def test_with_wait_for_delivery_callers_left_on_the_remainder_fail_with_a_failed_part(build):
    """A part that fails may have held any waiting caller's data: all of them are told, none is left waiting."""
    batch, _ = make(FailingConsumer(RetryableError("down")), send_batch_size=3, send_batch_max_size=3,
                    timeout="1h", wait_for_delivery=True)
    waiting = asyncio.ensure_future(batch.consume(build.traces(["a", "b"])))
    await asyncio.sleep(0)
    with pytest.raises(RetryableError):
        await batch.consume(build.traces(["c", "d"]))  # 4 items: a part of 3 is sent and fails, 1 stays
    with pytest.raises(RetryableError):
        await asyncio.wait_for(waiting, 1)


class RefusingByName(SinkConsumer):
    """Takes every batch, but refuses the spans named `name` by their keys, as the kafka exporter refuses a span too
    large for a record while it delivers the rest."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    async def consume(self, b):
        await super().consume(b)
        bad = {(s.trace_id, s.span_id) for rs in b.request.resource_spans for ss in rs.scope_spans for s in ss.spans
               if s.name == self.name}
        if bad:
            raise RejectedSpans(f"{len(bad)} spans too large", bad)


def _keys(batch):
    return {(s.trace_id, s.span_id) for rs in batch.request.resource_spans for ss in rs.scope_spans for s in ss.spans}


async def test_with_wait_for_delivery_refused_spans_fail_only_the_caller_that_sent_them(build):
    """Before: one client's refused span failed every client whose request was merged into the same batch."""
    sink = RefusingByName("huge")
    batch, telemetry = make(sink, send_batch_size=100, timeout="20ms", wait_for_delivery=True)
    innocent, guilty, other = build.traces(["a", "b"]), build.traces(["c", "huge"]), build.traces(["d"])
    guilty_keys = _keys(guilty)
    results = await asyncio.wait_for(asyncio.gather(batch.consume(innocent), batch.consume(guilty),
                                                    batch.consume(other), return_exceptions=True), 5)
    assert len(sink.batches) == 1 and sink.item_count == 5  # all three were merged, and sent once
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RejectedSpans) and results[1].spans < guilty_keys and len(results[1].spans) == 1
    assert refused(telemetry) == 1


async def test_refused_spans_of_a_part_reach_callers_still_waiting_on_the_remainder(build):
    sink = RefusingByName("huge")
    batch, _ = make(sink, send_batch_size=3, send_batch_max_size=3, timeout="1h", wait_for_delivery=True)
    first = asyncio.ensure_future(batch.consume(build.traces(["huge", "a"])))
    second = asyncio.ensure_future(batch.consume(build.traces(["b", "c"])))  # a part of 3 goes, 1 stays pending
    await asyncio.sleep(0.01)
    assert not first.done() and not second.done()
    third = asyncio.ensure_future(batch.consume(build.traces(["d", "e"])))  # fills the remainder: all are settled
    results = await asyncio.wait_for(asyncio.gather(first, second, third, return_exceptions=True), 5)
    assert isinstance(results[0], RejectedSpans) and len(results[0].spans) == 1
    assert results[1:] == [None, None]


async def test_without_wait_for_delivery_the_caller_that_fills_the_batch_hears_only_of_its_own_spans(build):
    batch, _ = make(RefusingByName("huge"), send_batch_size=3, timeout="1h")
    await batch.consume(build.traces(["huge"]))  # buffered: this caller has gone
    await batch.consume(build.traces(["a", "b"]))  # sends the batch; the refused span is not this caller's
    with pytest.raises(RejectedSpans):
        await batch.consume(build.traces(["c", "huge", "d"]))
