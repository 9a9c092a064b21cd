"""reconnect: a new stream in the same session soon after an aborted or truncated one points back at it."""

from __future__ import annotations

from processor.component import Kind
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord
from processor.processors.reconnect import factory
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer, create_settings
from tests.stream.builders import MS, T0, llm_span, read_with, traces
from tests.stream.pipeline import default_chain

S = 1000 * MS


def make_reconnect(sink, telemetry=None, **config):
    settings = create_settings("reconnect", Kind.PROCESSOR, telemetry=telemetry)
    return factory.create(settings, factory.config_model.model_validate(config), sink)


def read_with_session(span, resource, scope, conventions):
    """The test convention, plus the session id from `session.id` (as the real adapters read it)."""
    call = read_with(span, resource, scope, conventions)
    if call is not None:
        for kv in span.attributes:
            if kv.key == "session.id":
                call.record.session_id = kv.value.string_value
    return call


def record(n: int, *, session: str = "s1", start_s: float, end_s: float, outcome: str = "completed",
           **fields) -> StreamRecord:
    return StreamRecord(trace_id=bytes([n]) * 16, span_id=bytes([n]) * 8, session_id=session, outcome=outcome,
                        start_time_unix_nano=T0 + int(start_s * S), end_time_unix_nano=T0 + int(end_s * S), **fields)


async def feed(processor, *batches) -> None:
    for records in batches:
        await processor.consume(Batch(Signal.TRACES, Batch.empty(Signal.TRACES).request, streams=list(records)))


async def test_a_reconnect_after_an_abort_through_the_stream_processor():
    sink = SinkConsumer()
    head = default_chain(make_reconnect(sink), wait=30, read=read_with_session)
    chunks = [T0 + 300 * MS + i * 50 * MS for i in range(5)]
    aborted = llm_span(b"\x01" * 8, trace_id=b"\xaa" * 16, chunks=chunks, closed=True)  # the user closed it
    aborted.attributes.add(key="session.id").value.string_value = "sess-1"
    again = llm_span(b"\x02" * 8, trace_id=b"\xbb" * 16, start=T0 + 8 * S,
                     chunks=[t + 8 * S for t in chunks], finish_reason="stop", output_tokens=5, input_tokens=3)
    again.attributes.add(key="session.id").value.string_value = "sess-1"
    other = llm_span(b"\x03" * 8, trace_id=b"\xcc" * 16, start=T0 + 9 * S, chunks=[t + 9 * S for t in chunks],
                     finish_reason="stop", output_tokens=5, input_tokens=3)
    other.attributes.add(key="session.id").value.string_value = "sess-2"
    for span in (aborted, again, other):
        await head.consume(Batch(Signal.TRACES, traces(span)))
    await head.shutdown()
    by_span = {r.span_id: r for r in sink.streams}
    assert by_span[b"\x01" * 8].outcome == "aborted"
    assert by_span[b"\x02" * 8].reconnect_of == b"\x01" * 8
    assert by_span[b"\x03" * 8].reconnect_of == b""  # another session
    assert by_span[b"\x01" * 8].reconnect_of == b""


async def test_a_truncated_stream_is_reconnected_once_and_only_within_the_window():
    sink = SinkConsumer()
    processor = make_reconnect(sink, reconnect_window="30s")
    await feed(processor,
               [record(1, start_s=0, end_s=5, outcome="truncated", truncation_reason="cutoff")],
               [record(2, start_s=10, end_s=20), record(3, start_s=25, end_s=30)],  # only the first reconnects
               [record(4, start_s=40, end_s=41, outcome="aborted")],
               [record(5, start_s=80, end_s=85)])  # 39 s after the abort: too late
    marks = {r.span_id[0]: r.reconnect_of for r in sink.streams}
    assert marks == {1: b"", 2: b"\x01" * 8, 3: b"", 4: b"", 5: b""}


async def test_a_completed_stream_or_a_retry_of_the_partial_one_is_not_a_reconnect():
    sink = SinkConsumer()
    processor = make_reconnect(sink)
    await feed(processor,
               [record(1, start_s=0, end_s=2)],
               [record(2, start_s=3, end_s=4)],  # after a completed stream
               [record(3, start_s=5, end_s=6, outcome="aborted")],
               [record(4, start_s=6.5, end_s=9, attempt=1, retried_after_partial=True,
                       partial_attempt_span_id=b"\x03" * 8)],  # the stream processor's retry: counted as a retry
               [record(5, start_s=5.5, end_s=7)])  # started before the abort ended: concurrent, not a reconnect
    assert all(r.reconnect_of == b"" for r in sink.streams)


async def test_records_in_one_batch_are_taken_in_start_order():
    sink = SinkConsumer()
    processor = make_reconnect(sink)
    await feed(processor, [record(2, start_s=12, end_s=14), record(1, start_s=0, end_s=10, outcome="aborted")])
    assert {r.span_id[0]: r.reconnect_of for r in sink.streams} == {2: b"\x01" * 8, 1: b""}


async def test_sessions_are_bounded_and_early_evictions_counted():
    sink, telemetry = SinkConsumer(), SelfTelemetry()
    processor = make_reconnect(sink, telemetry, max_sessions=2)
    await feed(processor, [record(n, session=f"s{n}", start_s=n, end_s=n + 0.5, outcome="aborted")
                           for n in (1, 2, 3)])
    assert len(processor.broken) == 2
    assert telemetry.registry.get_sample_value("tokenstream_reconnect_evicted_sessions_total",
                                               {"processor": "reconnect"}) == 1
    await feed(processor, [record(9, session="s1", start_s=5, end_s=6)])  # s1 was forgotten
    assert sink.streams[-1].reconnect_of == b""
