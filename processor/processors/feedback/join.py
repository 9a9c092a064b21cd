"""The streams feedback can join, and the feedback waiting for its stream; shared by the traces and the logs
instance of one feedback component.

A feedback joins, in this order: the stream of its own span; else the stream of its trace that started last
before it; else, by session, the stream of its session that started last before it and ended at most
`session_window` before it. Unjoined feedback waits (bounded in time and count) for streams to come.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain

from processor.processors.feedback.reading import Feedback


@dataclass(slots=True, frozen=True, eq=False)
class KnownStream:
    trace_id: bytes
    span_id: bytes
    session: str
    start: int
    end: int
    experience: str
    labels: dict[str, str]


#: A KnownStream as JoinState keeps it, up to max_streams (100k) of them: its fields in order, labels flat (key,
#: value, ...). A tuple of atomic values, which Python's GC untracks, where a KnownStream and its trace's list were
#: two tracked objects per stream that every full collection looked at.
_Kept = tuple[bytes, bytes, str, int, int, str, tuple[str, ...]]
_TRACE, _SPAN, _SESSION, _START, _END = range(5)


def _keep(stream: KnownStream) -> _Kept:
    return (stream.trace_id, stream.span_id, stream.session, stream.start, stream.end, stream.experience,
            tuple(chain.from_iterable(stream.labels.items())))


def _known(kept: _Kept) -> KnownStream:
    *fields, labels = kept
    return KnownStream(*fields, dict(zip(labels[::2], labels[1::2], strict=True)))


@dataclass(slots=True, eq=False)
class _Pending:
    feedback: Feedback
    deadline: float
    done: bool = False


class JoinState:
    def __init__(self, *, session_window_s: float, pending_wait_s: float, max_pending: int, max_streams: int,
                 on_drop: Callable[[str], None]) -> None:
        self.session_window = int(session_window_s * 1e9)
        self.pending_wait = pending_wait_s
        self.max_pending = max_pending
        self.max_streams = max_streams
        self.on_drop = on_drop
        self.streams: OrderedDict[bytes, _Kept] = OrderedDict()  # by span id, oldest first
        self.by_trace: dict[bytes, tuple[_Kept, ...]] = {}  # a trace has few streams: a tuple, untracked as well
        self.by_session: dict[str, list[_Kept]] = {}
        self.pending: deque[_Pending] = deque()
        self.pending_by_trace: dict[bytes, list[_Pending]] = {}
        self.pending_by_session: dict[str, list[_Pending]] = {}

    def remember(self, stream: KnownStream) -> None:
        if stream.span_id in self.streams:
            return
        kept = self.streams[stream.span_id] = _keep(stream)
        self.by_trace[stream.trace_id] = (*self.by_trace.get(stream.trace_id, ()), kept)
        if stream.session:
            self.by_session.setdefault(stream.session, []).append(kept)
        while len(self.streams) > self.max_streams:
            _, old = self.streams.popitem(last=False)
            rest = tuple(s for s in self.by_trace.pop(old[_TRACE], ()) if s is not old)
            if rest:
                self.by_trace[old[_TRACE]] = rest
            _remove(self.by_session, old[_SESSION], old)

    def join(self, feedback: Feedback) -> tuple[KnownStream, str] | None:
        own = self.streams.get(feedback.span_id) if feedback.span_id else None
        if own is not None:
            return _known(own), "span"
        in_trace = self.by_trace.get(feedback.trace_id) if feedback.trace_id else None
        if in_trace:
            before = [s for s in in_trace if s[_START] <= feedback.time] or in_trace
            return _known(max(before, key=lambda s: s[_START])), "trace"
        if feedback.session:
            near = [s for s in self.by_session.get(feedback.session, ())
                    if s[_START] <= feedback.time and feedback.time - s[_END] <= self.session_window]
            if near:
                return _known(max(near, key=lambda s: s[_START])), "session"
        return None

    def wait(self, feedback: Feedback, now: float) -> None:
        pending = _Pending(feedback, now + self.pending_wait)
        self.pending.append(pending)
        if feedback.trace_id:
            self.pending_by_trace.setdefault(feedback.trace_id, []).append(pending)
        if feedback.session:
            self.pending_by_session.setdefault(feedback.session, []).append(pending)
        while len(self.pending) > self.max_pending:
            self._drop_oldest("evicted")

    def resolve(self, streams: list[KnownStream]) -> list[tuple[Feedback, KnownStream, str]]:
        """Pending feedback that the newly remembered `streams` let join, now joined."""
        candidates: dict[int, _Pending] = {}
        for stream in streams:
            for pending in self.pending_by_trace.get(stream.trace_id, ()):
                candidates[id(pending)] = pending
            for pending in self.pending_by_session.get(stream.session, ()) if stream.session else ():
                candidates[id(pending)] = pending
        joined = []
        for pending in candidates.values():
            found = None if pending.done else self.join(pending.feedback)
            if found is not None:
                self._done(pending)
                joined.append((pending.feedback, *found))
        return joined

    def expire(self, now: float) -> None:
        while self.pending and (self.pending[0].done or self.pending[0].deadline <= now):
            self._drop_oldest("unjoined")

    def _drop_oldest(self, reason: str) -> None:
        pending = self.pending.popleft()
        if not pending.done:
            self._done(pending)
            self.on_drop(reason)

    def _done(self, pending: _Pending) -> None:
        pending.done = True
        _remove(self.pending_by_trace, pending.feedback.trace_id, pending)
        _remove(self.pending_by_session, pending.feedback.session, pending)


def _remove(index: dict, key, item) -> None:
    items = index.get(key)
    if items is None:
        return
    try:
        items.remove(item)
    except ValueError:
        return
    if not items:
        del index[key]
