from __future__ import annotations

from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from processor.conventions.base import Piece
from processor.stream.store import AWAIT_STREAM_S, TraceStore
from processor.stream.work import HttpAttempt
from tests.stream.builders import make_call


def _with_call(store: TraceStore, trace_id: bytes, now: float, span_id: bytes = b"s" * 8) -> None:
    store.add_call(store.touch(trace_id, now), span_id, make_call(span_id))


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
    assert evicted == ["max_traces"] and len(store) == 2
    assert [t.trace_id for t in store.pop_expired(0)] == [b"a"]
    assert sorted(t.trace_id for t in store.pop_all()) == [b"b", b"c"]


def test_http_spans_wait_apart_and_join_their_trace_when_its_llm_call_comes():
    store = TraceStore(wait_s=5, max_traces=1)
    attempt = HttpAttempt(b"h" * 8, b"s" * 8, 0, 1, True, frozenset())
    for i in range(3):  # ordinary HTTP traffic: bounded on its own, pushes no LLM trace out
        store.add_http(bytes([i]), attempt, now=0)
    store.add_http(b"llm", attempt, now=0)
    _with_call(store, b"llm", now=1)
    assert store.get(b"llm").http == (attempt,)
    assert store.pop_expired(100)[0].trace_id == b"llm"


def test_traces_with_only_logs_are_not_emitted():
    store = TraceStore(wait_s=0, max_traces=10)
    store.hold_log(store.touch(b"a", now=0), LogRecord(trace_id=b"a", span_id=b"s" * 8))
    assert store.pop_expired(1) == []


def test_a_trace_waiting_for_the_stream_half_of_a_call_is_held_on_until_it_comes():
    store = TraceStore(wait_s=1, max_traces=10)
    store.add_call(store.touch(b"a", now=0), b"r" * 8, make_call(b"r" * 8, piece=Piece.REQUEST))
    assert store.pop_expired(30.0) == []  # Logfire's log span comes when the stream ends
    store.add_call(store.touch(b"a", now=31), b"s" * 8, make_call(b"s" * 8, piece=Piece.STREAM))
    assert store.pop_expired(31.5) == []
    assert [t.trace_id for t in store.pop_expired(32.0)] == [b"a"]


def test_a_stream_half_that_never_comes_is_given_up_after_a_bound():
    store = TraceStore(wait_s=1, max_traces=10)
    store.add_call(store.touch(b"a", now=0), b"r" * 8, make_call(b"r" * 8, piece=Piece.REQUEST))
    assert store.pop_expired(AWAIT_STREAM_S - 1) == []
    assert [t.trace_id for t in store.pop_expired(AWAIT_STREAM_S + 1)] == [b"a"]


def _log(trace_id: bytes, span_id: bytes, body_bytes: int = 0) -> LogRecord:
    log = LogRecord(trace_id=trace_id, span_id=span_id, event_name="gen_ai.choice")
    log.body.string_value = "x" * body_bytes
    return log


def test_a_trace_past_max_trace_pieces_is_evicted_and_what_it_waited_to_join_is_counted():
    evicted, dropped = [], []
    store = TraceStore(wait_s=5, max_traces=10, on_evict=evicted.append, max_trace_pieces=3,
                       on_drop=lambda kind, count: dropped.append((kind, count)))
    _with_call(store, b"live", now=0)
    for i in range(3):  # logs under span ids that never arrive, the trace kept alive all along
        store.hold_log(store.touch(b"live", now=i), _log(b"live", bytes([i]) * 8))
    assert evicted == ["max_trace_pieces"] and dropped == [("log", 3)]
    assert store.get(b"live") is None and store.held_bytes == 0
    assert [t.trace_id for t in store.pop_expired(0)] == [b"live"]  # its call is emitted all the same


def test_held_bytes_are_bounded_and_the_trace_that_grows_is_evicted_before_the_others():
    evicted = []
    store = TraceStore(wait_s=5, max_traces=100, on_evict=evicted.append, max_held_bytes=160_000)
    for name in (b"a", b"b", b"c"):
        _with_call(store, name, now=0)
    for i in range(20):  # one trace's waiting logs take 10 KB each: a sixteenth of the bound is 10 KB
        store.hold_log(store.touch(b"big", now=1), _log(b"big", bytes([i]) * 8, body_bytes=6_000))
    assert set(evicted) == {"max_held_bytes"}
    assert all(store.get(name) is not None for name in (b"a", b"b", b"c"))
    assert store.held_bytes <= 160_000


def test_past_max_held_bytes_the_least_recent_traces_are_evicted():
    evicted = []
    store = TraceStore(wait_s=5, max_traces=100, on_evict=evicted.append, max_held_bytes=20_000)
    for i in range(60):  # each trace small, together over the bound
        _with_call(store, bytes([i]) * 16, now=i)
    assert evicted and set(evicted) == {"max_held_bytes"} and store.held_bytes <= 20_000
    assert store.get(bytes([59]) * 16) is not None and store.get(bytes([0]) * 16) is None


def test_joined_logs_are_no_longer_held():
    store = TraceStore(wait_s=5, max_traces=10)
    trace = store.touch(b"t", now=0)
    store.hold_log(trace, _log(b"t", b"s" * 8, body_bytes=1000))
    assert store.held_bytes > 1000
    assert len(store.take_logs(trace, b"s" * 8)) == 1
    assert store.held_bytes == 0 and trace.pieces == 0


def test_http_attempts_of_one_trace_are_bounded_too():
    dropped = []
    store = TraceStore(wait_s=5, max_traces=10, max_trace_pieces=3, on_drop=lambda kind, n: dropped.append((kind, n)))
    for i in range(5):  # waiting for their LLM call: the oldest go
        store.add_http(b"h", HttpAttempt(bytes([i]) * 8, b"s" * 8, i, i + 1, False, frozenset()), now=0)
    assert dropped == [("http", 1)] * 2
    _with_call(store, b"h", now=1)  # a fourth piece: the trace is emitted at once, with what it held
    (trace,) = store.pop_expired(1)
    assert [a.start for a in trace.http] == [2, 3, 4] and [c.record.span_id for c in trace.calls()] == [b"s" * 8]
