"""feedback joined to its stream: by its span, by its trace (also when the stream comes later), by session."""

from __future__ import annotations

import gc

from opentelemetry.proto.trace.v1.trace_pb2 import Status

from processor.model.batch import Batch, Signal
from processor.model.records import StreamAnomaly
from processor.processors.feedback.join import JoinState, KnownStream
from processor.processors.feedback.reading import Feedback
from processor.service.telemetry import SelfTelemetry
from tests.processors.feedback.conftest import (
    T0,
    Clock,
    S,
    feedback_log,
    feedback_span,
    joined,
    logs_batch,
    make_pair,
    spans_batch,
    stream,
)
from tests.stream.builders import MS, llm_span, traces
from tests.stream.pipeline import default_chain


async def test_feedback_in_a_span_event_waits_for_its_stream_and_joins_by_trace_through_the_stream_processor():
    traces_feedback, _, sinks = make_pair()
    head = default_chain(traces_feedback, wait=30)
    trace = b"\xaa" * 16
    chunks = [T0 + 300 * MS + i * 50 * MS for i in range(5)]
    aborted = llm_span(b"\x01" * 8, trace_id=trace, chunks=chunks, closed=True)
    thumbs_down = feedback_span(trace, b"\x0f" * 8, time=T0 + 2 * S, feedback_thumbs="down")
    await head.consume(Batch(Signal.TRACES, traces(aborted, thumbs_down)))
    assert joined(sinks[Signal.TRACES]) == []  # the record comes after the stream processor's wait
    await head.shutdown()
    (found,) = joined(sinks[Signal.TRACES])
    assert (found.span_id, found.experience, found.verdict, found.joined_by) == (b"\x01" * 8, "aborted", "down",
                                                                                "trace")
    assert found.time_unix_nano == T0 + 2 * S and not found.feedback_trace_id


async def test_an_event_on_the_llm_span_itself_joins_that_stream():
    traces_feedback, _, sinks = make_pair()
    records = [stream(1, start_s=0, end_s=3, trace=7), stream(2, start_s=4, end_s=6, trace=7, stalled=True)]
    await traces_feedback.consume(spans_batch(streams=records))
    await traces_feedback.consume(spans_batch(feedback_span(b"\x07" * 16, b"\x01" * 8, time=T0 + 9 * S,
                                                            feedback_score=5.0)))
    (found,) = joined(sinks[Signal.TRACES])
    assert (found.span_id, found.joined_by, found.verdict, found.score) == (b"\x01" * 8, "span", "up", 5.0)
    assert (found.route, found.request_model, found.experience) == ("/chat", "gpt-4o", "normal")


async def test_a_log_record_joins_by_session_the_nearest_preceding_stream():
    traces_feedback, logs_feedback, sinks = make_pair(session_window="5m")
    await traces_feedback.consume(spans_batch(streams=[
        stream(1, start_s=0, end_s=10, session="s1", outcome="completed"),
        stream(2, start_s=20, end_s=25, session="s1", outcome="truncated"),
        stream(3, start_s=200, end_s=210, session="s1"),  # after the feedback: not what it is about
        stream(4, start_s=21, end_s=22, session="s2")]))
    await logs_feedback.consume(logs_batch(feedback_log(time=T0 + 60 * S, trace_id=b"\xee" * 16, session_id="s1",
                                                        feedback_thumbs="-1")))
    (found,) = joined(sinks[Signal.LOGS])  # joined in the logs pipeline, where it arrived
    assert (found.span_id, found.joined_by, found.experience, found.verdict) == (b"\x02" * 8, "session",
                                                                                "truncated", "down")
    assert found.feedback_trace_id == b"\xee" * 16 and found.session_id == "s1"


async def test_session_feedback_waits_for_a_late_stream_and_unjoined_feedback_is_dropped_and_counted():
    telemetry, clock = SelfTelemetry(), Clock()
    traces_feedback, logs_feedback, sinks = make_pair(telemetry=telemetry, clock=clock, pending_wait="30s",
                                                      session_window="1m")
    await logs_feedback.consume(logs_batch(
        feedback_log(time=T0 + 12 * S, session_id="late", feedback_thumbs="up"),
        feedback_log(time=T0 + 12 * S, session_id="never", feedback_thumbs="up"),
        feedback_log(time=T0 + 12 * S, session_id="late", feedback_comment="no value")))
    clock.now += 10
    await traces_feedback.consume(spans_batch(streams=[stream(1, start_s=0, end_s=8, session="late")]))
    (found,) = joined(sinks[Signal.TRACES])
    assert (found.span_id, found.joined_by, found.verdict) == (b"\x01" * 8, "session", "up")
    clock.now += 25
    await logs_feedback.consume(logs_batch())
    dropped = {reason: telemetry.registry.get_sample_value("tokenstream_feedback_dropped_total",
                                                           {"processor": "feedback", "reason": reason})
               for reason in ("unjoined", "no_verdict")}
    assert dropped == {"unjoined": 1, "no_verdict": 1}
    await traces_feedback.consume(spans_batch(streams=[stream(2, start_s=1, end_s=9, session="never")]))
    assert len(joined(sinks[Signal.TRACES], sinks[Signal.LOGS])) == 1  # the dropped one stays dropped


async def test_session_feedback_long_after_the_stream_does_not_join_it():
    traces_feedback, logs_feedback, sinks = make_pair(session_window="1m")
    await traces_feedback.consume(spans_batch(streams=[stream(1, start_s=0, end_s=8, session="s")]))
    await logs_feedback.consume(logs_batch(feedback_log(time=T0 + 600 * S, session_id="s", feedback_thumbs="up")))
    assert joined(sinks[Signal.LOGS]) == []


async def test_experience_comes_from_the_record_and_its_anomalies():
    traces_feedback, _, sinks = make_pair(slow_ttft="1s")
    records = [stream(1, start_s=0, end_s=1, outcome="aborted"), stream(2, start_s=0, end_s=1, outcome="error"),
               stream(3, start_s=0, end_s=1, outcome="truncated", stalled=True),
               stream(4, start_s=0, end_s=1, stalled=True, ttft_s=3.0),
               stream(5, start_s=0, end_s=1, ttft_s=1.5), stream(6, start_s=0, end_s=1, ttft_s=0.5),
               stream(7, start_s=0, end_s=1, ttft_s=0.5), stream(8, start_s=0, end_s=1)]
    slow_anomaly = StreamAnomaly(trace_id=records[6].trace_id, span_id=records[6].span_id, kind="slow_first_token")
    await traces_feedback.consume(spans_batch(streams=records, anomalies=[slow_anomaly]))
    await traces_feedback.consume(spans_batch(*(feedback_span(r.trace_id, b"\xf0" * 8, time=T0 + 5 * S,
                                                              feedback_thumbs=True) for r in records)))
    experiences = {f.span_id[0]: f.experience for f in joined(sinks[Signal.TRACES])}
    assert experiences == {1: "aborted", 2: "aborted", 3: "truncated", 4: "stalled", 5: "slow_first_token",
                           6: "normal", 7: "slow_first_token", 8: "normal"}


async def test_the_chain_keeps_the_stream_processor_s_outcome():
    """An error before any chunk is an `error` outcome; the user saw a broken stream: aborted."""
    traces_feedback, _, sinks = make_pair()
    head = default_chain(traces_feedback, wait=30)
    failed = llm_span(b"\x01" * 8, status=Status.STATUS_CODE_ERROR)
    await head.consume(Batch(Signal.TRACES, traces(failed, feedback_span(failed.trace_id, b"\x0e" * 8, time=T0,
                                                                         name="user.feedback",
                                                                         feedback_thumbs="thumbs_down"))))
    await head.shutdown()
    (found,) = joined(sinks[Signal.TRACES])
    assert (found.experience, found.verdict) == ("aborted", "down")


def test_the_streams_feedback_can_join_are_kept_untracked_by_the_gc_and_join_as_they_came():
    state = JoinState(session_window_s=60, pending_wait_s=60, max_pending=10, max_streams=2, on_drop=print)
    streams = [KnownStream(b"t" * 16, bytes([i]) * 8, "s1", 10 * i, 10 * i + 5, "ok", {"route": "/chat"})
               for i in range(3)]
    for known in streams:
        state.remember(known)
    gc.collect()
    gc.collect()
    kept = [*state.streams.values(), *state.by_trace.values()]
    assert kept and not any(gc.is_tracked(k) for k in kept)
    found, how = state.join(Feedback(trace_id=b"t" * 16, span_id=b"", session="", time=25, verdict="good", score=None))
    assert how == "trace" and (found.span_id, found.labels) == (bytes([2]) * 8, {"route": "/chat"})
    assert state.join(Feedback(trace_id=b"", span_id=bytes([0]) * 8, session="", time=0, verdict="good",
                               score=None)) is None
