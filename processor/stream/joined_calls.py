"""Several spans that are one streamed call, joined into one `LlmCall`: the one place that knows how libraries split
a call (adapters only say which piece a span is, `LlmCall.piece`).

- `REQUEST` + `STREAM`: Logfire ends its request span when the response headers arrive and writes the stream's
  outcome on a separate "streaming response" log span, a sibling under the same parent. The stream piece joins the
  latest request piece under the same parent that started before it, with the same request model. A request piece
  that no stream piece joins is a stream that never ended (Logfire writes one for a failure too): the app closed it.
- `WRAPPER`: a span that encloses the provider call(s) it made (Vercel's `ai.streamText`, 7.x `invoke_agent` and
  `step`). It is the app's call: the record starts when it did and sits under its parent (so that an app-level
  retry, a second wrapper under the same parent, is seen as one), a TTFT the provider call reported still counts
  from that call's own start. Its evidence goes to the last provider call under it (directly, or through other
  wrappers) where that call lacks it (an error the inner span did not record); provider calls before that one
  that failed before any output are the SDK's retries (`failed_attempts`). A wrapper with no provider call under
  it, because that span was never exported, stands for the call itself.

The result is computed afresh from the trace's pieces (they are never changed), so a piece that arrives late joins
on the next look.
"""

from __future__ import annotations

from collections.abc import Iterable

from processor.conventions.base import LlmCall, Piece, SpanStatus
from processor.model.records import StreamRecord
from processor.stream.outcome import classify_outcome, delivered_chunks

#: Record fields a later piece may fill when the first one lacks them.
_FILLED = ("response_model", "finish_reason", "input_tokens", "output_tokens", "error_type", "session_id",
           "provider", "request_model", "operation", "service", "route", "tenant")


def one_per_call(calls: Iterable[LlmCall]) -> list[LlmCall]:
    """One call per streamed LLM call, sorted by start time."""
    ordered = sorted(calls, key=lambda c: c.record.start_time_unix_nano)
    if all(call.piece is Piece.WHOLE for call in ordered):
        return ordered  # the common case: every span is a whole call
    joined = _join_streams(ordered)
    return sorted(_apply_wrappers(joined), key=lambda c: c.record.start_time_unix_nano)


def _join_streams(ordered: list[LlmCall]) -> list[LlmCall]:
    result: list[LlmCall] = []
    open_requests: list[LlmCall] = []
    for call in ordered:
        if call.piece is Piece.STREAM:
            request = _request_of(call, open_requests)
            if request is not None:
                open_requests.remove(request)
                result[result.index(request)] = merged(request, call)
                continue
        elif call.piece is Piece.REQUEST:
            open_requests.append(call)
        result.append(call)
    for request in open_requests:  # no stream piece came: the stream never ended, with or without an error
        closed = merged(request, request)
        closed.streaming = True
        closed.consumer_closed = request.status is not SpanStatus.ERROR
        result[result.index(request)] = closed
    return result


def _request_of(stream: LlmCall, requests: list[LlmCall]) -> LlmCall | None:
    s = stream.record
    candidates = [r for r in requests if r.record.parent_span_id == s.parent_span_id
                  and r.record.start_time_unix_nano <= s.start_time_unix_nano
                  and (not s.request_model or r.record.request_model in ("", s.request_model))]
    return max(candidates, key=lambda r: r.record.start_time_unix_nano, default=None)


def _apply_wrappers(calls: list[LlmCall]) -> list[LlmCall]:
    wrappers = {c.record.span_id: c for c in calls if c.piece is Piece.WRAPPER}
    if not wrappers:
        return calls
    inner = [c for c in calls if c.piece is not Piece.WRAPPER]
    under: dict[bytes, list[int]] = {}  # outermost wrapper span id -> indexes in `inner` of the calls under it
    chain: dict[bytes, list[LlmCall]] = {}  # the same -> the wrappers of its last call, innermost first
    covered: set[bytes] = set()  # wrappers with a provider call under them
    for index, call in enumerate(inner):
        wrapping = _wrappers_of(call.record.parent_span_id, wrappers)
        if wrapping:
            outermost = wrapping[-1].record.span_id
            under.setdefault(outermost, []).append(index)
            chain[outermost] = wrapping
            covered.update(w.record.span_id for w in wrapping)
    result: list[LlmCall | None] = list(inner)
    for outermost, indexes in under.items():
        *earlier, last = indexes
        call = inner[last]
        for index in earlier:  # SDK retries before the last provider call: failed, nothing streamed
            if not delivered_chunks(inner[index]) and classify_outcome(inner[index]).failed:
                result[index] = None
                call = _with_failed_attempt(call)
        for wrapper in chain[outermost]:
            call = merged(call, wrapper, outer=True)
        result[last] = call
    lone = [w for w in wrappers.values() if w.record.span_id not in covered]
    for wrapper in lone:  # wrappers whose provider call was never exported: the innermost stands for it
        if any(other.record.parent_span_id == wrapper.record.span_id for other in lone):
            continue
        call = merged(wrapper, wrapper)
        for outer in _wrappers_of(wrapper.record.parent_span_id, wrappers):
            call = merged(call, outer, outer=True)
        result.append(call)
    return [call for call in result if call is not None]


def _wrappers_of(parent: bytes, wrappers: dict[bytes, LlmCall]) -> list[LlmCall]:
    found = []
    while parent in wrappers:
        found.append(wrappers[parent])
        parent = wrappers[parent].record.parent_span_id
    return found


def _with_failed_attempt(call: LlmCall) -> LlmCall:
    copy = merged(call, call)
    copy.failed_attempts = call.failed_attempts + 1
    copy.piece = call.piece
    return copy


def merged(first: LlmCall, other: LlmCall, *, outer: bool = False) -> LlmCall:
    """`first` with what `other` (its stream piece, or with `outer`, its wrapper) adds. The span ids stay `first`'s.
    A stream piece carries the end of the stream; a wrapper, the app's call, gives the start and the parent."""
    record = StreamRecord()
    record.CopyFrom(first.record)
    for name in _FILLED:
        if not record.HasField(name) and other.record.HasField(name):
            setattr(record, name, getattr(other.record, name))
    if not outer and other.record.end_time_unix_nano > record.end_time_unix_nano:
        record.end_time_unix_nano = other.record.end_time_unix_nano
    ttft_from = first.ttft_from
    if outer and other is not first:
        if other.record.start_time_unix_nano < record.start_time_unix_nano:
            ttft_from = ttft_from or record.start_time_unix_nano
            record.start_time_unix_nano = other.record.start_time_unix_nano
        record.parent_span_id = other.record.parent_span_id
    call = LlmCall(record=record, piece=Piece.WHOLE)
    for name in LlmCall.__slots__:
        if name in ("record", "piece"):
            continue
        mine, theirs = getattr(first, name), getattr(other, name)
        setattr(call, name, mine if _known(mine) else theirs)
    if other.status is SpanStatus.ERROR and first.status is not SpanStatus.ERROR:
        call.status, call.status_message = other.status, other.status_message
    call.consumer_closed = first.consumer_closed or other.consumer_closed
    call.streaming = True if True in (first.streaming, other.streaming) else first.streaming
    call.ttft_from = ttft_from
    call.failed_attempts = first.failed_attempts
    return call


def _known(value: object) -> bool:
    return value not in (None, [], {}, "", False) and value is not SpanStatus.UNSET
