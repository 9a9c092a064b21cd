from __future__ import annotations

import gc
from array import array

from processor.conventions.base import Piece, SpanStatus, TtftClock
from processor.stream.held import hold, restore
from processor.stream.work import TraceState
from tests.stream.builders import MS, T0, make_call


def _full_call():
    return make_call(b"\x01" * 8, end=T0 + 900 * MS, chunks=[T0 + 300 * MS, T0 + 100 * MS, T0 + 100 * MS],
                     output_tokens=7, finish_reason="stop", status=SpanStatus.ERROR, piece=Piece.REQUEST,
                     first_token_time=T0 + 90 * MS, reported_ttft_s=0.25, ttft_clock=TtftClock.AFTER_HEADERS,
                     retry_markers={"http.request.resend_count": 2, "retry.after": "1s"},
                     lookalikes={"truncated/cutoff": "aborted"}, completion_text="héllo", chunk_text="hél",
                     status_message="boom", consumer_closed=True, max_output_tokens=64, request_id="req-1")


def test_a_held_call_is_restored_equal_field_for_field_enums_and_all():
    call = _full_call()
    back = restore(hold(call))
    assert back == call and back is not call
    assert back.piece is Piece.REQUEST and back.ttft_clock is TtftClock.AFTER_HEADERS
    assert back.chunk_times == [T0 + 300 * MS, T0 + 100 * MS, T0 + 100 * MS]  # as on the span, unsorted


def test_a_restored_call_is_a_copy_a_change_is_kept_only_by_holding_it_again():
    trace = TraceState(b"t" * 16)
    trace.put(b"\x01" * 8, make_call(b"\x01" * 8))
    call = trace.call(b"\x01" * 8)
    call.completion_text = "joined later"
    assert trace.call(b"\x01" * 8).completion_text is None
    assert trace.put(b"\x01" * 8, call)[0] == 0  # the same call again: no new piece
    assert trace.call(b"\x01" * 8).completion_text == "joined later"


def test_what_a_trace_holds_its_calls_with_is_not_tracked_by_the_gc_once_it_has_looked():
    trace = TraceState(b"t" * 16)
    for i in range(3):
        trace.put(bytes([i]) * 8, _full_call())
    gc.collect()
    gc.collect()  # a tuple is untracked once what it holds is: the inner ones at the first look
    assert not any(gc.is_tracked(held) for held in trace.held.values()) and not gc.is_tracked(trace.http)
    assert not gc.is_tracked(trace.held)  # a dict is untracked by a full collection once all it holds is


def test_a_request_half_awaits_its_stream_half_once_whatever_replaces_it():
    trace = TraceState(b"t" * 16)
    trace.put(b"r" * 8, make_call(b"r" * 8, piece=Piece.REQUEST))
    trace.put(b"r" * 8, make_call(b"r" * 8, piece=Piece.REQUEST))
    assert trace.awaits_stream()
    trace.put(b"s" * 8, make_call(b"s" * 8, piece=Piece.STREAM))
    assert not trace.awaits_stream()


def test_chunk_times_are_held_as_64_bit_bytes_and_what_does_not_fit_as_it_is():
    call = _full_call()
    assert bytes(array("Q", call.chunk_times)) in hold(call)
    for times in ([T0, T0 + MS], [2**64 - 1, 0], [-1, T0], [2**64, T0], [T0, 1.5]):
        call.chunk_times = list(times)
        back = restore(hold(call))
        assert back.chunk_times == times and [type(t) for t in back.chunk_times] == [type(t) for t in times]
