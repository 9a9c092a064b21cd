"""The index of one OTLP request's bytes: what both backends return, so callers never know which one ran.

Columns are `array.array`s, one item per span (or log record), in request order; a row number is the position of
a span in the request. Byte offsets are absolute positions in `index.buf` of a message's payload (after its tag
and length). Nothing here decodes a span that no rule claimed.
"""

from __future__ import annotations

import copy
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from processor.wire.claims import Claims, ClaimsSet, reads_text

#: `flags` column bits. VALID: a span's trace id is 16 bytes and its span id 8, neither all zero, and its parent
#: empty or 8 bytes; a log record's trace id empty or 16 bytes and its span id empty or 8 (OTLP partial success).
VALID = 1
#: A span with a parent span id; a log record with a trace id.
HAS_PARENT = HAS_TRACE_ID = 2
#: A log record with a span id.
HAS_SPAN_ID = 4

#: Bytes per row of `TraceIndex.ids`: trace id (16), span id (8), parent span id (8).
SPAN_IDS = 32
#: Bytes per row of `LogIndex.ids`: trace id (16), span id (8).
LOG_IDS = 24


class WireError(ValueError):
    """The bytes are not a valid message of the type scanned: refused as a whole (INVALID_ARGUMENT / 400).

    The message starts as upb's does (`Error parsing message with type '...'`), then says what and where.
    """


@dataclass(slots=True, eq=False)
class ClaimedSpan:
    """What the scanner read of a span that a claim rule matched; it holds no byte offsets into the request,
    so it stays valid when indexes are concatenated."""

    #: The CLAIM_* bits of the rules that matched.
    rules: int
    name: str
    #: key -> plain Python value: str, bool, int, float, bytes, list (array), dict (kvlist), None (empty);
    #: a key repeated on the span (OTLP forbids it): the first one wins, as the Collector's pcommon `Map.Get` and
    #: `otlp_attrs.find` read it (a kvlist value's repeated key: the last, as `otlp_attrs.to_python`).
    attributes: dict[str, Any]
    status_message: str
    #: event name -> the times (unix ns, `array('Q')`) of the span's events of that name, in span order.
    event_times: dict[str, array]
    #: event name -> the positions (`array('I')`) of those events among the span's events, in span order.
    event_positions: dict[str, array]
    #: Each event's payload as a byte range relative to the span's payload start (`array('I')` each), for
    #: `TraceIndex.event_attributes`.
    event_start: array
    event_end: array
    #: The text of each event named in `Claims.text_event_names` that has a string value under one of
    #: `Claims.text_keys` (the first of those keys that has one), in span order, and (aligned) its time (unix ns):
    #: two sequences, not a tuple per event, so that a request's thousands of chunks make no objects for the
    #: garbage collector to track.
    texts: list[str]
    text_times: array

    @property
    def event_count(self) -> int:
        return len(self.event_start)

    def narrowed(self, rules: int, claims: Claims) -> ClaimedSpan:
        """This reading (by a ClaimsSet's union) as a scan with its member `claims` alone reads it: `rules` are the
        member's bits; texts only when the member reads text (then by the same rules as the union: ClaimsSet)."""
        texts, times = (self.texts, self.text_times) if reads_text(claims) else ([], array("Q"))
        return ClaimedSpan(rules, self.name, self.attributes, self.status_message, self.event_times,
                           self.event_positions, self.event_start, self.event_end, texts, times)


@dataclass(slots=True, eq=False)
class ClaimedLog:
    """What the scanner read of a log record that a claim rule matched."""

    rules: int
    #: The `event_name` field, or (older SDKs) the string value of the `event.name` attribute.
    event_name: str
    attributes: dict[str, Any]
    #: The body as a plain Python value (as attributes' values); None when the record has none.
    body: Any
    severity_text: str


class TracePart(NamedTuple):
    """One trace's spans as an encoded ExportTraceServiceRequest (`by_trace`)."""

    trace_id: bytes
    data: bytes
    span_count: int


class _Index:
    """Resource and scope tables, shared by both signals. Subclasses name their row columns in `_ROW_COLUMNS`."""

    # column name -> how `concat` shifts it: "offset" (by buffer position), "row", "resource", "scope", "" (not)
    _ROW_COLUMNS: dict[str, str] = {}
    _ENTRY_COLUMNS = {"resource_start": "offset", "resource_end": "offset", "scope_start": "offset",
                      "scope_end": "offset", "scope_resource": "resource"}

    def __init__(self, *, codec: Any, buf: bytes, ids: bytes, claimed: list | tuple[Callable[[Any, Any], list], Any],
                 scope_names: list[str],
                 claims_set: ClaimsSet | None = None, member_claims: tuple[array, ...] = (),
                 **columns: array) -> None:
        #: The backend module that built this index (lazy reads go back to it).
        self.codec = codec
        #: The request bytes every offset points into.
        self.buf = buf
        #: Fixed-width ids per row (see SPAN_IDS / LOG_IDS); a wrong-length id is stored as zeros.
        self.ids = ids
        # Claimed rows' readings (`claimed`), or how to read them when first asked for: (read, arg), called as
        # read(arg, self).
        self._claimed, self._read_claimed = (claimed, None) if isinstance(claimed, list) else (None, claimed)
        #: Each ScopeSpans / ScopeLogs entry's scope name.
        self.scope_names = scope_names
        #: Scanned with `claims_set.union`: `member_claims[m]` ('B', aligned with `claimed_rows`) holds the CLAIM_*
        #: bits that member m's rules alone give each claimed row (see `for_claims`). None for a scan with one Claims.
        self.claims_set = claims_set
        self.member_claims = member_claims
        if claims_set is not None and len(member_claims) != len(claims_set.members):
            raise ValueError("an index of a ClaimsSet holds one claim column per member")
        for name in (*self._ROW_COLUMNS, *self._ENTRY_COLUMNS, "claimed_rows"):
            setattr(self, name, columns.pop(name))
        if columns:
            raise TypeError(f"unknown index columns: {', '.join(sorted(columns))}")
        self._claimed_at: dict[int, int] | None = None
        self._resource_attributes: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self.flags)

    @property
    def resource_count(self) -> int:
        return len(self.resource_start)

    @property
    def scope_count(self) -> int:
        return len(self.scope_start)

    def valid(self, row: int) -> bool:
        return bool(self.flags[row] & VALID)

    def invalid_rows(self) -> list[int]:
        """Rows whose ids make them unusable (partial success drops them)."""
        return [row for row, flags in enumerate(self.flags) if not flags & VALID]

    @property
    def claimed(self) -> list:
        """The ClaimedSpan / ClaimedLog of each of `claimed_rows`, in order (read on first use; do not modify)."""
        if self._claimed is None:
            read, arg = self._read_claimed
            self._claimed = read(arg, self)
        return self._claimed

    def claimed_at(self, row: int) -> Any | None:
        """The ClaimedSpan / ClaimedLog of `row`, or None when no rule claimed it."""
        if self._claimed_at is None:
            self._claimed_at = {r: position for position, r in enumerate(self.claimed_rows)}
        position = self._claimed_at.get(row)
        return None if position is None else self.claimed[position]

    def resource_attributes(self, resource: int) -> dict[str, Any]:
        """The Resource's attributes as plain values (decoded on first use, then cached; do not modify)."""
        found = self._resource_attributes.get(resource)
        if found is None:
            found = self._resource_attributes[resource] = self.codec.resource_attributes(
                self.buf, self.resource_start[resource], self.resource_end[resource])
        return found

    @classmethod
    def concat(cls, parts: list[_Index]) -> _Index:
        """The index of `b"".join(part.buf for part in parts)` (a valid protobuf merge: the requests' resource
        entries one after another), without scanning again: offsets and row numbers shifted."""
        if not parts:
            raise ValueError("concat needs at least one index")
        if len(parts) == 1:
            return parts[0]
        codec = parts[0].codec
        if any(part.codec is not codec for part in parts):
            raise ValueError("cannot concat indexes built by different backends")
        bases = {"offset": 0, "row": 0, "resource": 0, "scope": 0, "": 0}
        columns: dict[str, list[array]] = {}
        shifts = {**cls._ROW_COLUMNS, **cls._ENTRY_COLUMNS, "claimed_rows": "row"}
        for part in parts:
            for name, shift in shifts.items():
                columns.setdefault(name, []).append(codec.shifted(getattr(part, name), bases[shift]))
            bases["offset"] += len(part.buf)
            bases["row"] += len(part)
            bases["resource"] += part.resource_count
            bases["scope"] += part.scope_count
        joined = {name: _joined(pieces) for name, pieces in columns.items()}
        claims_set = parts[0].claims_set
        if any(part.claims_set != claims_set for part in parts):
            claims_set = None  # each part still answers for the union; its members are scanned for when asked
        members = () if claims_set is None else tuple(
            _joined([part.member_claims[m] for part in parts]) for m in range(len(claims_set.members)))
        first = parts[0]._read_claimed
        unread = first is not None and all(part._claimed is None and part._read_claimed is not None
                                           and part._read_claimed[0] is first[0] and part._read_claimed[1] is first[1]
                                           for part in parts)
        # Read with the same rules from the joined bytes and columns, when none was read yet: no reading now.
        claimed = first if unread else [c for part in parts for c in part.claimed]
        return cls(codec=codec, buf=b"".join(part.buf for part in parts), ids=b"".join(part.ids for part in parts),
                   claimed=claimed,
                   scope_names=[n for part in parts for n in part.scope_names], claims_set=claims_set,
                   member_claims=members, **joined)

    def for_claims(self, claims: Claims) -> _Index | None:
        """The index a scan of these bytes with `claims` alone would give, when `claims` is a member of the
        ClaimsSet this index was scanned with (None otherwise): the same row columns, except that `claim`,
        `claimed_rows` and `claimed` hold only what that member claims, with its bits. Costs no scan: a copy of the
        claim column and a narrowed reading of each row the member claims; this index itself when the member
        claims every claimed row with the union's bits."""
        if self.claims_set is None:
            return None
        try:
            member = self.claims_set.members.index(claims)
        except ValueError:
            return None
        bits = self.member_claims[member]
        same_texts = reads_text(claims) == reads_text(self.claims_set.union)
        claim = self.claim
        if same_texts and bits == array("B", [claim[row] for row in self.claimed_rows]):
            return self
        view = copy.copy(self)
        view.claims_set, view.member_claims, view._claimed_at = None, (), None
        view.claim = column = array("B", bytes(len(self)))
        view.claimed_rows, positions = array("I"), array("I")
        for position, rules in enumerate(bits):
            if rules:
                row = self.claimed_rows[position]
                column[row] = rules
                view.claimed_rows.append(row)
                positions.append(position)
        view._claimed, view._read_claimed = None, (_narrowed, (self, claims, positions))
        return view


def _narrowed(of: tuple[_Index, Claims, array], view: _Index) -> list:
    """A view's readings (`for_claims`): its rows' readings in the index it narrows, with the view's bits."""
    index, claims, positions = of
    claimed, claim = index.claimed, view.claim
    return [claimed[position].narrowed(claim[row], claims) for position, row in zip(positions, view.claimed_rows,
                                                                                     strict=True)]


def _joined(pieces: list[array]) -> array:
    out = array(pieces[0].typecode)
    for piece in pieces:
        out.extend(piece)
    return out


class TraceIndex(_Index):
    """An ExportTraceServiceRequest's spans.

    Row columns (one item per span): `span_start` / `span_end` ('Q', the Span payload), `span_resource` /
    `span_scope` ('I', rows of the resource and scope tables), `kind` ('i'), `start_ns` / `end_ns` ('Q'),
    `status_code` ('i'), `flags` ('B', VALID | HAS_PARENT), `claim` ('B', CLAIM_* bits; 0: not claimed),
    `event_count` ('I'). `claimed_rows` ('I') lists the claimed rows in order, `claimed` their ClaimedSpan.
    Resource table: `resource_start` / `resource_end` ('Q', each ResourceSpans payload). Scope table:
    `scope_start` / `scope_end` ('Q', each ScopeSpans payload), `scope_resource` ('I'), `scope_names`.
    """

    _ROW_COLUMNS = {"span_start": "offset", "span_end": "offset", "span_resource": "resource",
                    "span_scope": "scope", "kind": "", "start_ns": "", "end_ns": "", "status_code": "",
                    "flags": "", "claim": "", "event_count": ""}

    def trace_id(self, row: int) -> bytes:
        return self.ids[row * SPAN_IDS:row * SPAN_IDS + 16]

    def span_id(self, row: int) -> bytes:
        return self.ids[row * SPAN_IDS + 16:row * SPAN_IDS + 24]

    def parent_span_id(self, row: int) -> bytes:
        """b"" for a root span."""
        if not self.flags[row] & HAS_PARENT:
            return b""
        return self.ids[row * SPAN_IDS + 24:row * SPAN_IDS + 32]

    def span_keys(self) -> set[tuple[bytes, bytes]]:
        """(trace id, span id) of every span."""
        ids, width = self.ids, SPAN_IDS
        return {(ids[at:at + 16], ids[at + 16:at + 24]) for at in range(0, len(self) * width, width)}

    def span_bytes(self, row: int) -> bytes:
        """The Span message's encoding, as received (`Span.FromString` reads it)."""
        return self.buf[self.span_start[row]:self.span_end[row]]

    def event_attributes(self, row: int, event: int) -> dict[str, Any]:
        """Attributes of the `event`-th event of claimed span `row`, decoded now (not cached)."""
        claimed = self.claimed_at(row)
        if claimed is None:
            raise ValueError(f"span row {row} was not claimed: its events were not read")
        base = self.span_start[row]
        return self.codec.event_attributes(self.buf, base + claimed.event_start[event],
                                           base + claimed.event_end[event])


class LogIndex(_Index):
    """An ExportLogsServiceRequest's log records.

    Row columns: `log_start` / `log_end` ('Q', the LogRecord payload), `log_resource` / `log_scope` ('I'),
    `time_ns` / `observed_ns` ('Q'), `severity` ('i'), `flags` ('B', VALID | HAS_TRACE_ID | HAS_SPAN_ID),
    `claim` ('B'). `claimed_rows` / `claimed` (ClaimedLog) and the resource and scope tables as in TraceIndex
    (`resource_*` are ResourceLogs payloads, `scope_*` ScopeLogs payloads).
    """

    _ROW_COLUMNS = {"log_start": "offset", "log_end": "offset", "log_resource": "resource", "log_scope": "scope",
                    "time_ns": "", "observed_ns": "", "severity": "", "flags": "", "claim": ""}

    def trace_id(self, row: int) -> bytes:
        """b"" when the record has none."""
        if not self.flags[row] & HAS_TRACE_ID:
            return b""
        return self.ids[row * LOG_IDS:row * LOG_IDS + 16]

    def span_id(self, row: int) -> bytes:
        if not self.flags[row] & HAS_SPAN_ID:
            return b""
        return self.ids[row * LOG_IDS + 16:row * LOG_IDS + 24]

    def log_bytes(self, row: int) -> bytes:
        return self.buf[self.log_start[row]:self.log_end[row]]
