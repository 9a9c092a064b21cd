"""Several spans that are one streamed call, joined into one `LlmCall`: the one place that knows how libraries split
a call (adapters only say which piece a span is, `LlmCall.piece`).

- `REQUEST` + `STREAM`: Logfire ends its request span when the response headers arrive and writes the stream's
  outcome on a separate "streaming response" log span, a sibling under the same parent. The stream piece joins the
  latest request piece under the same parent that started before it, with the same request model.
- `WRAPPER`: a span that encloses the provider call(s) it made (Vercel's `ai.streamText`, 7.x `invoke_agent` and
  `step`). Its evidence goes to the last provider call under it (directly, or through other wrappers) where that
  call lacks it (an error the inner span did not record); a wrapper with no provider call under it, because that
  span was never exported, stands for the call itself.

The result is computed afresh from the trace's pieces (they are never changed), so a piece that arrives late joins
on the next look.
"""

from __future__ import annotations

from collections.abc import Iterable

from processor.conventions.base import LlmCall, Piece, SpanStatus
from processor.model.records import StreamRecord

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
    last_under: dict[bytes, int] = {}  # wrapper span id -> index in `inner` of the last call under it
    for index, call in enumerate(inner):
        parent = call.record.parent_span_id
        while parent in wrappers:
            last_under[parent] = index
            parent = wrappers[parent].record.parent_span_id
    result = list(inner)
    for span_id, wrapper in wrappers.items():
        if span_id in last_under:
            index = last_under[span_id]
            result[index] = merged(result[index], wrapper, outer=True)
        elif not any(w.record.parent_span_id == span_id for w in wrappers.values()):
            result.append(wrapper)  # the innermost wrapper of a provider call that was never exported
    return result


def merged(first: LlmCall, other: LlmCall, *, outer: bool = False) -> LlmCall:
    """`first` with what `other` (its stream piece, or with `outer`, its wrapper) adds. The ids stay `first`'s. A
    stream piece carries the end of the stream; a wrapper's times are its own (it spans more than the call)."""
    record = StreamRecord()
    record.CopyFrom(first.record)
    for name in _FILLED:
        if not record.HasField(name) and other.record.HasField(name):
            setattr(record, name, getattr(other.record, name))
    if not outer and other.record.end_time_unix_nano > record.end_time_unix_nano:
        record.end_time_unix_nano = other.record.end_time_unix_nano
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
    return call


def _known(value: object) -> bool:
    return value not in (None, [], {}, "", False) and value is not SpanStatus.UNSET
