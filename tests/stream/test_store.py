from __future__ import annotations

from processor.conventions.base import Piece
from processor.stream.store import AWAIT_STREAM_S, TraceStore
from processor.stream.work import HttpAttempt
from tests.stream.builders import make_call


def _with_call(store: TraceStore, trace_id: bytes, now: float) -> None:
    store.touch(trace_id, now).calls[b"s" * 8] = make_call()


def test_a_trace_is_held_for_wait_after_its_last_piece():
    store = TraceStore(wait_s=5, max_traces=10)
    _with_call(store, b"a", now=0)
    store.touch(b"a", now=3)
    assert store.pop_expired(7.9) == []
    assert [t.trace_id for t in store.pop_expired(8.0)] == [b"a"]
    assert len(store) == 0


def test_beyond_max_traces_the_oldest_is_evicted_counted_and_still_emitted():
    evicted = []
    store = TraceStore(wait_s=5, max_traces=2, on_evict=evicted.append)
    for i, trace_id in enumerate((b"a", b"b", b"c")):
        _with_call(store, trace_id, now=i)
    assert evicted == [1] and len(store) == 2
    assert [t.trace_id for t in store.pop_expired(0)] == [b"a"]
    assert sorted(t.trace_id for t in store.pop_all()) == [b"b", b"c"]


def test_http_spans_wait_apart_and_join_their_trace_when_its_llm_call_comes():
    store = TraceStore(wait_s=5, max_traces=1)
    attempt = HttpAttempt(b"h" * 8, b"s" * 8, 0, 1, True, frozenset())
    for i in range(3):  # ordinary HTTP traffic: bounded on its own, pushes no LLM trace out
        store.add_http(bytes([i]), attempt, now=0)
    store.add_http(b"llm", attempt, now=0)
    _with_call(store, b"llm", now=1)
    assert store.get(b"llm").http == [attempt]
    assert store.pop_expired(100)[0].trace_id == b"llm"


def test_traces_with_only_logs_are_not_emitted():
    store = TraceStore(wait_s=0, max_traces=10)
    store.touch(b"a", now=0).pending_logs[b"s" * 8] = [object()]
    assert store.pop_expired(1) == []


def test_a_trace_waiting_for_the_stream_half_of_a_call_is_held_on_until_it_comes():
    store = TraceStore(wait_s=1, max_traces=10)
    store.touch(b"a", now=0).calls[b"r" * 8] = make_call(b"r" * 8, piece=Piece.REQUEST)
    assert store.pop_expired(30.0) == []  # Logfire's log span comes when the stream ends
    store.touch(b"a", now=31).calls[b"s" * 8] = make_call(b"s" * 8, piece=Piece.STREAM)
    assert store.pop_expired(31.5) == []
    assert [t.trace_id for t in store.pop_expired(32.0)] == [b"a"]


def test_a_stream_half_that_never_comes_is_given_up_after_a_bound():
    store = TraceStore(wait_s=1, max_traces=10)
    store.touch(b"a", now=0).calls[b"r" * 8] = make_call(b"r" * 8, piece=Piece.REQUEST)
    assert store.pop_expired(AWAIT_STREAM_S - 1) == []
    assert [t.trace_id for t in store.pop_expired(AWAIT_STREAM_S + 1)] == [b"a"]
