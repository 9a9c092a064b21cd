"""The reference backend's readings: field ranges from a walk of the bytes, attribute maps, and its ClaimedSpan,
which reads the upb span on first use.

A claimed span's readings are what most of the reference's time went to (an llm request: 50 spans x 100 chunk
events, each event's name, time and text through upb). Taken when first asked for, a scan that nobody reads costs
only the claim check, and a reader pays only for what it reads: attributes, event tables (times, positions, texts)
and event byte ranges are three separate readings.
"""

from __future__ import annotations

from array import array
from typing import Any

from processor.model.otlp_attrs import to_python
from processor.wire.claims import Claims, reads_text
from processor.wire.index import ClaimedSpan

_WIRE_LEN = 2


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7


def _skip(data: bytes, pos: int, wire_type: int, field: int) -> int:
    if wire_type == 0:
        return _varint(data, pos)[1]
    if wire_type == 1:
        return pos + 8
    if wire_type == 2:
        size, pos = _varint(data, pos)
        return pos + size
    if wire_type == 5:
        return pos + 4
    while True:  # a group (3): fields up to its end-group tag (4); upb has checked that they match
        tag, pos = _varint(data, pos)
        if tag & 7 == 4:
            return pos
        pos = _skip(data, pos, tag & 7, tag >> 3)


def fields(data: bytes, start: int, end: int, wanted: int) -> list[tuple[int, int]]:
    """(payload start, payload end) of each length-delimited field number `wanted` in the message [start, end)."""
    found = []
    wanted_tag = wanted << 3 | _WIRE_LEN
    pos = start
    while pos < end:
        tag = data[pos]  # one-byte tags and lengths (nearly all) read inline: this loop runs per span and event
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = _varint(data, pos)
        if tag == wanted_tag:
            size = data[pos]
            if size < 0x80:
                pos += 1
            else:
                size, pos = _varint(data, pos)
            found.append((pos, pos + size))
            pos += size
        else:
            pos = _skip(data, pos, tag & 7, tag >> 3)
    return found


def attribute_map(attributes: Any) -> dict[str, Any]:
    """key -> plain value; a repeated key: its first occurrence (pcommon Map.Get, otlp_attrs.find)."""
    out: dict[str, Any] = {}
    for kv in attributes:
        key = kv.key
        if key not in out:
            out[key] = to_python(kv.value)
    return out


class LazyClaimedSpan(ClaimedSpan):
    """A ClaimedSpan whose readings come from its upb span when first read (then kept). It holds the span (so the
    decoded request stays alive while it does) and its own request bytes, with the span's range in them: offsets
    relative to the span, so it stays valid when indexes are concatenated."""

    __slots__ = ("_span", "_data", "_start", "_end", "_claims", "_attributes", "_events", "_ranges")

    def __init__(self, rules: int, span: Any, data: bytes, start: int, end: int, claims: Claims) -> None:
        # The base's dataclass __init__ is not called: the properties below stand for its reading fields.
        self.rules = rules
        self.name = span.name
        self.status_message = span.status.message
        self._span, self._data, self._start, self._end, self._claims = span, data, start, end, claims
        self._attributes: dict[str, Any] | None = None
        self._events: tuple[dict[str, array], dict[str, array], list[str], array] | None = None
        self._ranges: tuple[array, array] | None = None

    def narrowed(self, rules: int, claims: Claims) -> ClaimedSpan:
        """As ClaimedSpan.narrowed: the same span read with `claims`; what is read already is shared."""
        out = LazyClaimedSpan(rules, self._span, self._data, self._start, self._end, claims)
        out._attributes, out._ranges = self._attributes, self._ranges
        if reads_text(claims) == reads_text(self._claims):
            out._events = self._events
        return out

    @property
    def attributes(self) -> dict[str, Any]:
        if self._attributes is None:
            self._attributes = attribute_map(self._span.attributes)
        return self._attributes

    @property
    def event_times(self) -> dict[str, array]:
        return self._event_tables()[0]

    @property
    def event_positions(self) -> dict[str, array]:
        return self._event_tables()[1]

    @property
    def texts(self) -> list[str]:
        return self._event_tables()[2]

    @property
    def text_times(self) -> array:
        return self._event_tables()[3]

    @property
    def event_start(self) -> array:
        return self._event_ranges()[0]

    @property
    def event_end(self) -> array:
        return self._event_ranges()[1]

    @property
    def event_count(self) -> int:
        return len(self._span.events)

    def _event_tables(self) -> tuple[dict[str, array], dict[str, array], list[str], array]:
        if self._events is None:
            self._events = read_events(self._span.events, self._claims)
        return self._events

    def _event_ranges(self) -> tuple[array, array]:
        if self._ranges is None:
            start, starts, ends = self._start, array("I"), array("I")
            for payload_start, payload_end in fields(self._data, start, self._end, 11):
                starts.append(payload_start - start)
                ends.append(payload_end - start)
            self._ranges = starts, ends
        return self._ranges


def read_events(events: Any, claims: Claims) -> tuple[dict[str, array], dict[str, array], list[str], array]:
    """name -> times, name -> positions, and the text of each text event and its time, in span order.

    The text of an event: the string under the first of `claims.text_keys` whose first occurrence in the event is a
    string. Runs once per event (an llm span has a hundred), so it is one loop with no call per event."""
    by_name: dict[str, tuple[array, array]] = {}
    texts, text_times = [], array("Q")
    text_events = claims.text_event_names if claims.text_keys else ()
    rank_of = {key: rank for rank, key in enumerate(claims.text_keys)}
    last_name, times, positions = None, None, None
    for position, event in enumerate(events):
        name, time = event.name, event.time_unix_nano
        if name != last_name:
            columns = by_name.get(name)
            if columns is None:
                columns = by_name[name] = (array("Q"), array("I"))
            last_name, (times, positions) = name, columns
        times.append(time)
        positions.append(position)
        if name in text_events:
            best, text, seen = len(rank_of), None, 0
            for kv in event.attributes:
                rank = rank_of.get(kv.key)
                if rank is None or rank >= best or seen >> rank & 1:
                    continue
                seen |= 1 << rank  # a key's first occurrence decides for it
                value = kv.value
                if value.WhichOneof("value") == "string_value":
                    best, text = rank, value.string_value
                    if rank == 0:
                        break
            if text is not None:
                texts.append(text)
                text_times.append(time)
    return ({name: columns[0] for name, columns in by_name.items()},
            {name: columns[1] for name, columns in by_name.items()}, texts, text_times)
