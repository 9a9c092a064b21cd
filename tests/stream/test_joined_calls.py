from __future__ import annotations

from processor.conventions.base import Piece, SpanStatus
from processor.stream.joined_calls import one_per_call
from processor.stream.outcome import classify_outcome
from tests.stream.builders import MS, PARENT, T0, make_call

REQUEST, STREAM, WRAPPER, INNER, CALL = (bytes([n]) * 8 for n in range(1, 6))


def test_whole_calls_come_back_as_they_are_sorted_by_start():
    late, early = make_call(CALL, start=T0 + 5 * MS), make_call(INNER, start=T0)
    assert one_per_call([late, early]) == [early, late]


def test_a_stream_piece_joins_the_request_piece_before_it_under_the_same_parent():
    request = make_call(REQUEST, start=T0, end=T0 + 50 * MS, status=SpanStatus.UNSET, piece=Piece.REQUEST)
    stream = make_call(STREAM, start=T0 + 900 * MS, end=T0 + 900 * MS, output_tokens=8, finish_reason="stop",
                       completion_text="hi", piece=Piece.STREAM)
    (call,) = one_per_call([stream, request])
    record = call.record
    assert record.span_id == REQUEST
    assert (record.start_time_unix_nano, record.end_time_unix_nano) == (T0, T0 + 900 * MS)
    assert (record.output_tokens, record.finish_reason, call.completion_text) == (8, "stop", "hi")
    assert classify_outcome(call).outcome == "completed"


def test_a_stream_piece_under_another_parent_stays_apart():
    request = make_call(REQUEST, piece=Piece.REQUEST, status=SpanStatus.UNSET)
    stream = make_call(STREAM, start=T0 + MS, parent=b"\x09" * 8, piece=Piece.STREAM, finish_reason="stop")
    assert len(one_per_call([request, stream])) == 2


def test_a_request_piece_no_stream_piece_joins_was_closed_by_the_app():
    (call,) = one_per_call([make_call(REQUEST, end=T0 + 50 * MS, status=SpanStatus.UNSET, piece=Piece.REQUEST)])
    assert call.consumer_closed and call.streaming
    assert classify_outcome(call).outcome == "aborted"


def test_a_wrapper_gives_the_provider_call_its_start_parent_and_missing_evidence():
    wrapper = make_call(WRAPPER, start=T0, parent=PARENT, status=SpanStatus.ERROR, piece=Piece.WRAPPER)
    wrapper.record.error_type = "AI_APICallError"
    inner = make_call(INNER, start=T0 + 200 * MS, parent=WRAPPER, status=SpanStatus.UNSET, reported_ttft_s=0.3)
    (call,) = one_per_call([inner, wrapper])
    record = call.record
    assert (record.span_id, record.parent_span_id, record.start_time_unix_nano) == (INNER, PARENT, T0)
    assert call.ttft_from == T0 + 200 * MS  # the reported TTFT still counts from the provider call
    assert (call.status, record.error_type) == (SpanStatus.ERROR, "AI_APICallError")


def test_nested_wrappers_reach_the_outermost():
    agent = make_call(WRAPPER, start=T0, piece=Piece.WRAPPER)
    step = make_call(REQUEST, start=T0 + MS, parent=WRAPPER, piece=Piece.WRAPPER)
    chat = make_call(INNER, start=T0 + 2 * MS, parent=REQUEST, finish_reason="stop")
    (call,) = one_per_call([chat, step, agent])
    assert (call.record.span_id, call.record.parent_span_id, call.record.start_time_unix_nano) == (INNER, PARENT, T0)


def test_failed_provider_calls_before_the_last_one_are_the_sdks_retries():
    wrapper = make_call(WRAPPER, start=T0, piece=Piece.WRAPPER, finish_reason="stop")
    failed = make_call(INNER, start=T0 + MS, end=T0 + 5 * MS, parent=WRAPPER, status=SpanStatus.ERROR)
    good = make_call(CALL, start=T0 + 300 * MS, parent=WRAPPER, finish_reason="stop", reported_ttft_s=0.2)
    (call,) = one_per_call([wrapper, failed, good])
    assert (call.record.span_id, call.failed_attempts, call.record.start_time_unix_nano) == (CALL, 1, T0)


def test_a_wrapper_whose_provider_call_was_never_exported_stands_for_it():
    wrapper = make_call(WRAPPER, start=T0, piece=Piece.WRAPPER, status=SpanStatus.UNSET, consumer_closed=True)
    (call,) = one_per_call([wrapper])
    assert (call.record.span_id, call.piece) == (WRAPPER, Piece.WHOLE)
    assert classify_outcome(call).outcome == "aborted"


def test_each_step_of_a_multi_step_call_is_a_record_and_no_step_wrapper_is_one():
    agent = make_call(WRAPPER, start=T0, piece=Piece.WRAPPER, finish_reason="stop")
    step1 = make_call(REQUEST, start=T0 + MS, parent=WRAPPER, piece=Piece.WRAPPER)
    step2 = make_call(STREAM, start=T0 + 500 * MS, parent=WRAPPER, piece=Piece.WRAPPER)
    chat1 = make_call(INNER, start=T0 + 2 * MS, parent=REQUEST, finish_reason="tool_calls")
    chat2 = make_call(CALL, start=T0 + 501 * MS, parent=STREAM, finish_reason="stop")
    calls = one_per_call([agent, step1, step2, chat1, chat2])
    assert [c.record.span_id for c in calls] == [CALL, INNER]  # the last step's call starts with the app's call
