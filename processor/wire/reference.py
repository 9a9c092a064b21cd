"""The pure-Python reference of the wire core, built on upb: the oracle of the tests, and the path that runs when
the extension is not built (or `TOKENSTREAM_PURE_PYTHON=1`).

Values come from upb's decode of the whole request (so what upb refuses is refused, with upb's message); byte
offsets from a walk, in Python, of the container levels only (request -> resource entries -> scope entries ->
spans), which upb cannot give. Writers (reference_writers.py) make each edit through upb messages.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator
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
)
from processor.wire.index import (
    HAS_PARENT,
    HAS_SPAN_ID,
    HAS_TRACE_ID,
    VALID,
    ClaimedLog,
    ClaimedSpan,
    LogIndex,
    TraceIndex,
    WireError,
)
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


def fields(data: bytes, start: int, end: int, wanted: int) -> Iterator[tuple[int, int]]:
    """(payload start, payload end) of each length-delimited field number `wanted` in the message [start, end)."""
    pos = start
    while pos < end:
        tag, pos = _varint(data, pos)
        if tag == (wanted << 3 | _WIRE_LEN):
            size, pos = _varint(data, pos)
            yield pos, pos + size
            pos += size
        else:
            pos = _skip(data, pos, tag & 7, tag >> 3)


def _decode(message_type: type, data: bytes) -> Any:
    try:
        return message_type.FromString(data)
    except DecodeError as exc:
        raise WireError(str(exc)) from None


def _entries(data: bytes) -> Iterator[tuple[tuple[int, int], list[tuple[tuple[int, int], list[tuple[int, int]]]]]]:
    """The container levels: each resource entry's range with its scope entries' ranges and their items' ranges."""
    for resource in fields(data, 0, len(data), 1):
        scopes = [(scope, list(fields(data, *scope, 2))) for scope in fields(data, *resource, 2)]
        yield resource, scopes


def _attrs(attributes: Any) -> dict[str, Any]:
    """key -> plain value; a repeated key: its first occurrence (pcommon Map.Get, otlp_attrs.find)."""
    out: dict[str, Any] = {}
    for kv in attributes:
        if kv.key not in out:
            out[kv.key] = to_python(kv.value)
    return out


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


def scan_traces(buf: bytes, claims: Claims = NO_CLAIMS) -> TraceIndex:
    data = bytes(buf)
    request = _decode(ExportTraceServiceRequest, data)
    tables = _Tables()
    cols = {name: array(code) for name, code in (
        ("span_start", "Q"), ("span_end", "Q"), ("span_resource", "I"), ("span_scope", "I"), ("kind", "i"),
        ("start_ns", "Q"), ("end_ns", "Q"), ("status_code", "i"), ("flags", "B"), ("claim", "B"),
        ("event_count", "I"))}
    ids: list[bytes] = []
    claimed_rows, claimed = array("I"), []
    row = 0
    for (rs_range, scope_entries), rs in zip(_entries(data), request.resource_spans, strict=True):
        resource = tables.resource(rs_range)
        for (ss_range, span_ranges), ss in zip(scope_entries, rs.scope_spans, strict=True):
            scope = tables.scope(ss_range, resource, ss.scope.name)
            scope_claim = CLAIM_SCOPE if _scope_claimed(ss.scope.name, claims) else 0
            for (start, end), span in zip(span_ranges, ss.spans, strict=True):
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                ids += (_id(trace_id, 16), _id(span_id, 8), _id(parent, 8))
                valid = (len(trace_id) == 16 and trace_id != _ZERO_TRACE and len(span_id) == 8
                         and span_id != _ZERO_SPAN and len(parent) in (0, 8))
                claim = scope_claim | _span_claim(span, claims)
                for name, value in (("span_start", start), ("span_end", end), ("span_resource", resource),
                                    ("span_scope", scope), ("kind", span.kind),
                                    ("start_ns", span.start_time_unix_nano), ("end_ns", span.end_time_unix_nano),
                                    ("status_code", span.status.code),
                                    ("flags", (VALID if valid else 0) | (HAS_PARENT if parent else 0)),
                                    ("claim", claim), ("event_count", len(span.events))):
                    cols[name].append(value)
                if claim:
                    claimed_rows.append(row)
                    claimed.append(_claimed_span(span, claim, data, start, end, claims))
                row += 1
    return TraceIndex(codec=_codec(), buf=data, ids=b"".join(ids), claimed=claimed, claimed_rows=claimed_rows,
                      **cols, **tables.columns())


def _scope_claimed(name: str, claims: Claims) -> bool:
    return name in claims.scope_names or name.startswith(claims.scope_prefixes)


def _span_claim(span: Any, claims: Claims) -> int:
    claim = 0
    prefixes, keys = claims.key_prefixes, claims.keys
    if (prefixes or keys) and any(kv.key.startswith(prefixes) or kv.key in keys for kv in span.attributes):
        claim |= CLAIM_KEY
    if (claims.http_client and span.kind == _CLIENT and span.parent_span_id
            and span.name.partition(" ")[0] in _METHODS):
        claim |= CLAIM_HTTP_CLIENT
    if claims.event_names and any(event.name in claims.event_names for event in span.events):
        claim |= CLAIM_EVENT
    return claim


def _claimed_span(span: Any, claim: int, data: bytes, start: int, end: int, claims: Claims) -> ClaimedSpan:
    times: dict[str, list[int]] = {}
    positions: dict[str, list[int]] = {}
    texts = []
    for position, event in enumerate(span.events):
        times.setdefault(event.name, []).append(event.time_unix_nano)
        positions.setdefault(event.name, []).append(position)
        if claims.text_keys and event.name in claims.text_event_names:
            attributes = _attrs(event.attributes)
            text = next((v for key in claims.text_keys if isinstance(v := attributes.get(key), str)), None)
            if text is not None:
                texts.append((event.time_unix_nano, text))
    ranges = list(fields(data, start, end, 11))
    return ClaimedSpan(
        claim, span.name, _attrs(span.attributes), span.status.message,
        {name: array("Q", values) for name, values in times.items()},
        {name: array("I", values) for name, values in positions.items()},
        array("I", [s - start for s, _ in ranges]), array("I", [e - start for _, e in ranges]), texts)


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
                attributes = _attrs(log.attributes)
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
    return _attrs(resource.attributes)


def event_attributes(buf: bytes, start: int, end: int) -> dict[str, Any]:
    return _attrs(Span.Event.FromString(buf[start:end]).attributes)


def shifted(column: array, delta: int) -> array:
    return column if delta == 0 else array(column.typecode, [item + delta for item in column])


def _codec() -> Any:
    return sys.modules[__name__]
