"""Reading the text of streamed chunks: from chunk span events (as the wire core's scan read them, `CLAIMS`), and
from chunk log records, in time order."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from itertools import islice
from operator import le
from typing import Any

from processor.conventions.messages import event_name
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import as_str, find, to_python

#: (time unix ns, text) of one chunk.
Piece = tuple[int, str]


class ChunkReader:
    def __init__(self, chunk_events: Iterable[str], chunk_log_events: Iterable[str], text_keys: Iterable[str]):
        self.events = frozenset(chunk_events)
        self.log_events = frozenset(chunk_log_events)
        self.text_keys = tuple(dict.fromkeys(text_keys))  # as Claims keeps them: best first, once each
        self._event_names = tuple(sorted(self.events))  # as Claims keeps them too

    def span_text(self, span: LlmSpan) -> str | None:
        """The text of the span's chunk events that carry any (role-only, finish and usage chunks carry none), joined
        in time order (ties keep span order); None when none has any. The scan read it when it was asked for these
        events and keys (`CLAIMS`); else their attributes are read here."""
        names = self._event_names
        if span.text_claims == (names, self.text_keys):  # read by the scan
            texts, times = span.texts, span.text_times
        else:
            texts, times = [], []
            for position, time in span.events_of(names):
                attributes = span.event_attributes(position)
                text = next((text for key in self.text_keys if (text := as_str(attributes.get(key))) is not None),
                            None)
                if text is not None:
                    texts.append(text)
                    times.append(time)
        if not texts:
            return None
        if all(map(le, times, islice(times, 1, None))):  # in time order already, as chunk events nearly always are
            return "".join(texts)
        return "".join([texts[i] for i in sorted(range(len(texts)), key=times.__getitem__)])

    def log_pieces(self, request: Any) -> Iterable[tuple[bytes, bytes, Piece]]:
        """(trace id, span id, piece) of every chunk log record with a span id and text."""
        for rl in request.resource_logs:
            for sl in rl.scope_logs:
                for log in sl.log_records:
                    if log.span_id and event_name(log) in self.log_events:
                        text = self._log_text(log)
                        if text is not None:
                            yield log.trace_id, log.span_id, (log.time_unix_nano or log.observed_time_unix_nano, text)

    def _text(self, attributes: Any) -> str | None:
        for key in self.text_keys:
            value = find(attributes, key)
            if value is not None and value.WhichOneof("value") == "string_value":
                return value.string_value
        return None

    def _log_text(self, log: Any) -> str | None:
        kind = log.body.WhichOneof("value") if log.HasField("body") else None
        if kind == "string_value":
            return log.body.string_value
        if kind == "kvlist_value":
            body = to_python(log.body)
            for key in (*self.text_keys, "text", "delta"):
                if isinstance(body.get(key), str):
                    return body[key]
        return self._text(log.attributes)


def joined(pieces: list[Piece]) -> str | None:
    """The rebuilt text: pieces in time order (ties keep arrival order); None when there are none."""
    return "".join(text for _, text in sorted(pieces, key=lambda piece: piece[0])) if pieces else None


class PendingPieces:
    """Chunk log pieces by (trace id, span id), held until the stream's final record is checked; bounded."""

    def __init__(self, max_streams: int, on_drop=lambda: None) -> None:
        self.max_streams = max_streams
        self.on_drop = on_drop
        self._pieces: OrderedDict[tuple[bytes, bytes], list[Piece]] = OrderedDict()

    def add(self, trace_id: bytes, span_id: bytes, piece: Piece) -> None:
        key = (trace_id, span_id)
        held = self._pieces.get(key)
        if held is None:
            held = self._pieces[key] = []
            while len(self._pieces) > self.max_streams:
                self._pieces.popitem(last=False)
                self.on_drop()
        held.append(piece)

    def pop(self, trace_id: bytes, span_id: bytes) -> list[Piece]:
        return self._pieces.pop((trace_id, span_id), [])

    def __len__(self) -> int:
        return len(self._pieces)
