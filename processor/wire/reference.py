"""The pure-Python reference of the wire core, built on upb: the oracle of the tests, and the path that runs when
the extension is not built (or `TOKENSTREAM_PURE_PYTHON=1`).

Values come from upb's decode of the whole request (so what upb refuses is refused, with upb's message); byte
offsets from a walk, in Python, of the container levels only (request -> resource entries -> scope entries ->
spans), which upb cannot give. Columns are built one at a time from upb's spans; the claim rules' keys and event
names are first looked for in the span's bytes (an ordinary span holds none, and is not read further); a claimed
span's readings are taken from upb when first read (reference_read.py). Writers (reference_writers.py) make each
edit through upb messages.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor.model.otlp_attrs import to_python
from processor.wire.claims import (
    CLAIM_EVENT,
    CLAIM_HTTP_CLIENT,
    CLAIM_KEY,
    CLAIM_LOG_EVENT,
    CLAIM_SCOPE,
    HTTP_METHODS,
    NO_CLAIMS,
    Claims,
    ClaimsSet,
)
from processor.wire.index import (
    HAS_PARENT,
    HAS_SPAN_ID,
    HAS_TRACE_ID,
    VALID,
    ClaimedLog,
    LogIndex,
    TraceIndex,
    WireError,
)
from processor.wire.reference_read import LazyClaimedSpan, attribute_map, fields
from processor.wire.reference_writers import (  # noqa: F401  (the backend's writers)
    add_attributes,
    by_trace,
    drop_attributes,
    drop_logs,
    drop_spans,
    select_spans,
)

_CLIENT = Span.SPAN_KIND_CLIENT
_METHODS = frozenset(HTTP_METHODS)
_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)


def _decode(message_type: type, data: bytes) -> Any:
    try:
        return message_type.FromString(data)
    except DecodeError as exc:
        raise WireError(str(exc)) from None


def _entries(data: bytes) -> Iterator[tuple[tuple[int, int], list[tuple[tuple[int, int], list[tuple[int, int]]]]]]:
    """The container levels: each resource entry's range with its scope entries' ranges and their items' ranges."""
    for resource in fields(data, 0, len(data), 1):
        scopes = [(scope, fields(data, *scope, 2)) for scope in fields(data, *resource, 2)]
        yield resource, scopes


def _id(value: bytes, width: int) -> bytes:
    return value if len(value) == width else bytes(width)


class _Tables:
    """Column builder shared by both signals."""

    def __init__(self) -> None:
        self.resource_start, self.resource_end = array("Q"), array("Q")
        self.scope_start, self.scope_end, self.scope_resource = array("Q"), array("Q"), array("I")
        self.scope_names: list[str] = []

    def resource(self, rng: tuple[int, int]) -> int:
        self.resource_start.append(rng[0])
        self.resource_end.append(rng[1])
        return len(self.resource_start) - 1

    def scope(self, rng: tuple[int, int], resource: int, name: str) -> int:
        self.scope_start.append(rng[0])
        self.scope_end.append(rng[1])
        self.scope_resource.append(resource)
        self.scope_names.append(name)
        return len(self.scope_start) - 1

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("resource_start", "resource_end", "scope_start", "scope_end",
                                                       "scope_resource", "scope_names")}


_SPAN_COLUMNS = (("span_start", "Q"), ("span_end", "Q"), ("span_resource", "I"), ("span_scope", "I"), ("kind", "i"),
                 ("start_ns", "Q"), ("end_ns", "Q"), ("status_code", "i"), ("flags", "B"), ("claim", "B"),
                 ("event_count", "I"))


def scan_traces(buf: bytes, claims: Claims | ClaimsSet = NO_CLAIMS) -> TraceIndex:
    claims_set = claims if isinstance(claims, ClaimsSet) else None
    if claims_set is not None:
        claims = claims_set.union
        # Each member's bits come from its own rules, checked on the rows the union claims (no other row has any).
        members = [(member, _span_claimer(member) if _claims_spans(member) else None)
                   for member in claims_set.members]
        member_claims: tuple[array, ...] = tuple(array("B") for _ in members)
    data = bytes(buf)
    request = _decode(ExportTraceServiceRequest, data)
    tables = _Tables()
    cols = {name: array(code) for name, code in _SPAN_COLUMNS}
    ids: list[bytes] = []
    claimed_rows, claimed = array("I"), []
    span_claim = _span_claimer(claims) if _claims_spans(claims) else None
    row = 0
    for (rs_range, scope_entries), rs in zip(_entries(data), request.resource_spans, strict=True):
        resource = tables.resource(rs_range)
        for (ss_range, span_ranges), ss in zip(scope_entries, rs.scope_spans, strict=True):
            scope_name = ss.scope.name
            scope = tables.scope(ss_range, resource, scope_name)
            scope_claim = CLAIM_SCOPE if _scope_claimed(scope_name, claims) else 0
            spans = list(ss.spans)
            if len(spans) != len(span_ranges):
                raise ValueError("the walk and upb disagree on a scope entry's span count")
            # One column at a time, each a comprehension: per span, a Python loop body costs more than upb's reads.
            count = len(spans)
            trace_ids, span_ids = [s.trace_id for s in spans], [s.span_id for s in spans]
            parents = [s.parent_span_id for s in spans]
            ids += [part for t, s, p in zip(trace_ids, span_ids, parents, strict=True)
                    for part in (t if len(t) == 16 else _ZERO_TRACE, s if len(s) == 8 else _ZERO_SPAN,
                                 p if len(p) == 8 else _ZERO_SPAN)]
            events = [s.events for s in spans]
            if span_claim is not None:
                claim_of = [scope_claim | span_claim(span, data, start, end, span_events)
                            for span, (start, end), span_events in zip(spans, span_ranges, events, strict=True)]
            else:
                claim_of = [scope_claim] * count
            cols["span_start"].extend([start for start, _ in span_ranges])
            cols["span_end"].extend([end for _, end in span_ranges])
            cols["span_resource"].extend([resource] * count)
            cols["span_scope"].extend([scope] * count)
            cols["kind"].extend([s.kind for s in spans])
            cols["start_ns"].extend([s.start_time_unix_nano for s in spans])
            cols["end_ns"].extend([s.end_time_unix_nano for s in spans])
            cols["status_code"].extend([s.status.code for s in spans])
            cols["flags"].extend([
                (VALID if len(t) == 16 and t != _ZERO_TRACE and len(s) == 8 and s != _ZERO_SPAN and len(p) in (0, 8)
                 else 0) | (HAS_PARENT if p else 0) for t, s, p in zip(trace_ids, span_ids, parents, strict=True)])
            cols["claim"].extend(claim_of)
            cols["event_count"].extend([len(e) for e in events])
            if any(claim_of):
                for position, claim in enumerate(claim_of):
                    if claim:
                        start, end = span_ranges[position]
                        claimed_rows.append(row + position)
                        claimed.append(LazyClaimedSpan(claim, spans[position], data, start, end, claims))
                        if claims_set is not None:
                            for (member, member_claim), column in zip(members, member_claims, strict=True):
                                column.append(
                                    (CLAIM_SCOPE if _scope_claimed(scope_name, member) else 0)
                                    | (member_claim(spans[position], data, start, end, events[position])
                                       if member_claim is not None else 0))
            row += count
    sets = {} if claims_set is None else {"claims_set": claims_set, "member_claims": member_claims}
    return TraceIndex(codec=_codec(), buf=data, ids=b"".join(ids), claimed=claimed, claimed_rows=claimed_rows,
                      **cols, **tables.columns(), **sets)


def _claims_spans(claims: Claims) -> bool:
    """Whether any rule looks at a span itself (scope rules are checked once per scope entry)."""
    return bool(claims.key_prefixes or claims.keys or claims.http_client or claims.event_names)


def _scope_claimed(name: str, claims: Claims) -> bool:
    return name in claims.scope_names or name.startswith(claims.scope_prefixes)


def _span_claimer(claims: Claims) -> Callable[[Any, bytes, int, int, Any], int]:
    """The claim bits of a span under `claims`, as a function that checks only the rules `claims` has.

    A key or event name is stored verbatim in the span's bytes, so a span whose bytes hold none of the claimed
    prefixes, keys and event names matches no key or event rule: one regex search rules out ordinary spans without
    reading their attributes through upb."""
    prefixes, keys, event_names = claims.key_prefixes, frozenset(claims.keys), frozenset(claims.event_names)
    key_marks, event_marks = _any_of((*prefixes, *keys)), _any_of(event_names)
    http_client = claims.http_client

    def claim_of(span: Any, data: bytes, start: int, end: int, events: Any) -> int:
        claim = 0
        if key_marks and key_marks.search(data, start, end):
            for kv in span.attributes:
                key = kv.key
                if key.startswith(prefixes) or key in keys:
                    claim = CLAIM_KEY
                    break
        if http_client and span.kind == _CLIENT and span.parent_span_id and span.name.partition(" ")[0] in _METHODS:
            claim |= CLAIM_HTTP_CLIENT
        if event_marks and event_marks.search(data, start, end) and any(event.name in event_names for event in events):
            claim |= CLAIM_EVENT
        return claim

    return claim_of


def _any_of(texts: tuple[str, ...] | frozenset[str]) -> re.Pattern[bytes] | None:
    """A pattern finding any of `texts` (UTF-8, as protobuf stores strings) in a byte range; None for none."""
    return re.compile(b"|".join(re.escape(text.encode()) for text in sorted(texts))) if texts else None


def scan_logs(buf: bytes, claims: Claims = NO_CLAIMS) -> LogIndex:
    data = bytes(buf)
    request = _decode(ExportLogsServiceRequest, data)
    tables = _Tables()
    cols = {name: array(code) for name, code in (
        ("log_start", "Q"), ("log_end", "Q"), ("log_resource", "I"), ("log_scope", "I"), ("time_ns", "Q"),
        ("observed_ns", "Q"), ("severity", "i"), ("flags", "B"), ("claim", "B"))}
    ids: list[bytes] = []
    claimed_rows, claimed = array("I"), []
    row = 0
    for (rl_range, scope_entries), rl in zip(_entries(data), request.resource_logs, strict=True):
        resource = tables.resource(rl_range)
        for (sl_range, log_ranges), sl in zip(scope_entries, rl.scope_logs, strict=True):
            scope = tables.scope(sl_range, resource, sl.scope.name)
            for (start, end), log in zip(log_ranges, sl.log_records, strict=True):
                trace_id, span_id = log.trace_id, log.span_id
                ids += (_id(trace_id, 16), _id(span_id, 8))
                valid = len(trace_id) in (0, 16) and len(span_id) in (0, 8)
                attributes = attribute_map(log.attributes)
                name = log.event_name or _str(attributes.get("event.name"))
                claim = CLAIM_LOG_EVENT if (name.startswith(claims.log_event_prefixes)
                                            or name in claims.log_event_names) else 0
                flags = (VALID if valid else 0) | (HAS_TRACE_ID if trace_id else 0) | (HAS_SPAN_ID if span_id else 0)
                for column, value in (("log_start", start), ("log_end", end), ("log_resource", resource),
                                      ("log_scope", scope), ("time_ns", log.time_unix_nano),
                                      ("observed_ns", log.observed_time_unix_nano),
                                      ("severity", log.severity_number), ("flags", flags), ("claim", claim)):
                    cols[column].append(value)
                if claim:
                    claimed_rows.append(row)
                    body = to_python(log.body) if log.HasField("body") else None
                    claimed.append(ClaimedLog(claim, name, attributes, body, log.severity_text))
                row += 1
    return LogIndex(codec=_codec(), buf=data, ids=b"".join(ids), claimed=claimed, claimed_rows=claimed_rows,
                    **cols, **tables.columns())


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def resource_attributes(buf: bytes, start: int, end: int) -> dict[str, Any]:
    resource = Resource()
    for payload_start, payload_end in fields(buf, start, end, 1):  # repeated Resource fields merge
        resource.MergeFromString(buf[payload_start:payload_end])
    return attribute_map(resource.attributes)


def event_attributes(buf: bytes, start: int, end: int) -> dict[str, Any]:
    return attribute_map(Span.Event.FromString(buf[start:end]).attributes)


def shifted(column: array, delta: int) -> array:
    return column if delta == 0 else array(column.typecode, [item + delta for item in column])


def _codec() -> Any:
    return sys.modules[__name__]
