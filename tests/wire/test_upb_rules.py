"""The edges of what upb accepts, each checked against upb itself on both backends: nesting depth (messages and
groups), tags, varints, wire types, lengths, and strict UTF-8 in every string field of both request types."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import FieldDescriptor as F
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor import wire
from tests.wire.generate import field, tag, varint

ROOTS = {"traces": ExportTraceServiceRequest, "logs": ExportLogsServiceRequest}


def upb_accepts(message_type: type, data: bytes) -> bool:
    try:
        message_type.FromString(data)
    except DecodeError:
        return False
    return True


def backend_accepts(backend, signal: str, data: bytes) -> bool:
    scan = backend.scan_traces if signal == "traces" else backend.scan_logs
    try:
        scan(data, wire.NO_CLAIMS)
    except wire.WireError:
        return False
    return True


def in_span_attribute(value: bytes) -> bytes:
    """`value` (an AnyValue encoding) as the value of a span attribute of a request."""
    kv = field(1, 2, b"k") + field(2, 2, value)
    span = field(9, 2, kv)
    return field(1, 2, field(2, 2, field(2, 2, span)))


def nested_arrays(levels: int, inner: bytes = field(1, 2, b"x")) -> bytes:
    value = inner
    for _ in range(levels):
        value = field(5, 2, field(1, 2, value))
    return value


def groups(levels: int) -> bytes:
    data = b""
    for _ in range(levels):
        data = tag(99, 3) + data + tag(99, 4)
    return data


EDGES = {
    # request(0) > resource_spans > scope_spans > span > attribute > value(5), then 2 levels per array
    **{f"arrays-{n}": in_span_attribute(nested_arrays(n)) for n in (46, 47, 48, 49)},
    **{f"groups-{n}": in_span_attribute(groups(n)) for n in (93, 94, 95, 96)},
    **{f"arrays-and-groups-{n}": in_span_attribute(nested_arrays(46, groups(n))) for n in (1, 2, 3)},
    "top-level-groups-100": groups(100),
    "top-level-groups-101": groups(101),
    "field-0": b"\x00\x01",
    "field-0-padded": b"\x80\x00\x01",
    "tag-5-bytes": b"\x90\x80\x80\x80\x00\x01",
    "tag-6-bytes": b"\x90\x80\x80\x80\x80\x00\x01",
    "tag-over-32-bits": varint(1 << 32 | 2 << 3) + b"\x01",
    "largest-field-number": tag((1 << 29) - 1, 0) + b"\x01",
    "varint-10-bytes": b"\x08" + b"\xff" * 9 + b"\x7f",
    "varint-11-bytes": b"\x08" + b"\xff" * 10 + b"\x01",
    "varint-truncated": b"\x08\xff",
    "wire-type-6": b"\x0e",
    "wire-type-7": b"\x0f",
    "end-group-alone": tag(5, 4),
    "end-group-mismatched": tag(5, 3) + tag(6, 4),
    "group-unterminated": tag(5, 3) + b"\x08\x01",
    "field-0-inside-group": tag(5, 3) + b"\x00\x01" + tag(5, 4),  # found by make fuzz: upb takes it
    "padded-field-0-inside-nested-group": tag(5, 3) + tag(6, 3) + b"\x80\x00\x01" + tag(6, 4) + tag(5, 4),
    "group-0-inside-group": tag(5, 3) + b"\x03\x04" + tag(5, 4),
    "end-group-0-inside-group": tag(5, 3) + b"\x04" + tag(5, 4),
    "length-past-end": b"\x0a\x05abc",
    "length-huge": b"\x0a" + varint(1 << 40) + b"a",
    "length-0-in-5-bytes": b"\x0a\x80\x80\x80\x80\x00",
    "length-0-in-6-bytes": b"\x0a\x80\x80\x80\x80\x80\x00",  # found by make fuzz: upb refuses it
    "unknown-length-0-in-6-bytes": field(1, 2, tag(99, 2) + b"\x80\x80\x80\x80\x80\x00"),
    "length-1-plus-2-to-the-32": b"\x0a\x81\x80\x80\x80\x10\x00",
    "fixed64-truncated": field(1, 2, field(2, 2, field(2, 2, b"\x39\x01\x02"))),
    "fixed32-truncated": b"\x0d\x01\x02",
    "resource-spans-as-varint": b"\x08\x01",
    "span-as-group": field(1, 2, field(2, 2, tag(2, 3) + tag(2, 4))),
    "status-as-group": field(1, 2, field(2, 2, field(2, 2, tag(15, 3) + b"\x18\x02" + tag(15, 4)))),
    "empty-span": field(1, 2, field(2, 2, field(2, 2, b""))),
    "bad-utf8-in-unknown-field": field(1, 2, field(2, 2, field(2, 2, field(99, 2, b"\xff")))),
    "bad-utf8-in-bytes-field": field(1, 2, field(2, 2, field(2, 2, field(1, 2, b"\xff")))),
    "bad-utf8-in-string-with-wrong-wire-type": field(1, 2, field(2, 2, field(2, 2, field(5, 0, varint(255))))),
}


@pytest.mark.parametrize("signal", ROOTS)
@pytest.mark.parametrize("name", EDGES)
def test_edge_accepted_exactly_when_upb_accepts(backend, signal, name):
    data = EDGES[name]
    assert backend_accepts(backend, signal, data) == upb_accepts(ROOTS[signal], data)


def _string_field_paths(root) -> list[tuple[str, list]]:
    """A path of fields from the root to each string field of every message type reachable from it."""
    paths, seen, queue = [], {root.full_name}, [(root, [])]
    while queue:
        descriptor, path = queue.pop(0)
        for fd in descriptor.fields:
            if fd.type == F.TYPE_STRING:
                paths.append((f"{descriptor.name}.{fd.name}", [*path, fd]))
            elif fd.type == F.TYPE_MESSAGE and fd.message_type.full_name not in seen:
                seen.add(fd.message_type.full_name)
                queue.append((fd.message_type, [*path, fd]))
    return paths


def _encode(path: list, text: bytes) -> bytes:
    data = field(path[-1].number, 2, text)
    for fd in reversed(path[:-1]):
        data = field(fd.number, 2, data)
    return data


BAD_UTF8 = {"overlong": b"\xc0\x80", "surrogate": b"\xed\xa0\x80", "past-10ffff": b"\xf4\x90\x80\x80",
            "truncated": b"ok\xe2\x82", "stray-continuation": b"\x80", "ff": b"\xff"}
STRING_FIELDS = [(signal, name, path) for signal, root in ROOTS.items()
                 for name, path in _string_field_paths(root.DESCRIPTOR)]


@pytest.mark.parametrize(("signal", "name", "path"), STRING_FIELDS, ids=[f"{s}-{n}" for s, n, _ in STRING_FIELDS])
def test_every_string_field_is_checked_for_utf8(backend, signal, name, path):
    """The compiled walker descends into every message type and checks every string, as upb does."""
    assert backend_accepts(backend, signal, _encode(path, "naïve €🙂".encode()))
    for bad in BAD_UTF8.values():
        data = _encode(path, bad)
        assert not upb_accepts(ROOTS[signal], data)
        assert not backend_accepts(backend, signal, data)


def _all_fields() -> set[tuple[str, str, int, int]]:
    out, seen = set(), set()
    queue = [root.DESCRIPTOR for root in ROOTS.values()]
    while queue:
        descriptor = queue.pop()
        if descriptor.full_name in seen:
            continue
        seen.add(descriptor.full_name)
        for fd in descriptor.fields:
            out.add((descriptor.name, fd.name, fd.number, fd.type))
            if fd.type == F.TYPE_MESSAGE:
                queue.append(fd.message_type)
    return out


def test_schema_is_the_one_the_walker_knows():
    """A field added by a newer opentelemetry-proto shows up here: the walker (_walk.pxi) must learn it first
    (a string it does not check, or a message it does not descend into, would accept what upb refuses)."""
    known = {("ExportTraceServiceRequest", "resource_spans", 1, 11),
             ("ExportLogsServiceRequest", "resource_logs", 1, 11),
             ("ResourceSpans", "resource", 1, 11), ("ResourceSpans", "scope_spans", 2, 11),
             ("ResourceSpans", "schema_url", 3, 9), ("ResourceLogs", "resource", 1, 11),
             ("ResourceLogs", "scope_logs", 2, 11), ("ResourceLogs", "schema_url", 3, 9),
             ("Resource", "attributes", 1, 11), ("Resource", "dropped_attributes_count", 2, 13),
             ("Resource", "entity_refs", 3, 11), ("EntityRef", "schema_url", 1, 9), ("EntityRef", "type", 2, 9),
             ("EntityRef", "id_keys", 3, 9), ("EntityRef", "description_keys", 4, 9),
             ("ScopeSpans", "scope", 1, 11), ("ScopeSpans", "spans", 2, 11), ("ScopeSpans", "schema_url", 3, 9),
             ("ScopeLogs", "scope", 1, 11), ("ScopeLogs", "log_records", 2, 11), ("ScopeLogs", "schema_url", 3, 9),
             ("InstrumentationScope", "name", 1, 9), ("InstrumentationScope", "version", 2, 9),
             ("InstrumentationScope", "attributes", 3, 11), ("InstrumentationScope", "dropped_attributes_count", 4, 13),
             ("KeyValue", "key", 1, 9), ("KeyValue", "value", 2, 11), ("KeyValue", "key_strindex", 3, 5),
             ("AnyValue", "string_value", 1, 9), ("AnyValue", "bool_value", 2, 8), ("AnyValue", "int_value", 3, 3),
             ("AnyValue", "double_value", 4, 1), ("AnyValue", "array_value", 5, 11),
             ("AnyValue", "kvlist_value", 6, 11), ("AnyValue", "bytes_value", 7, 12),
             ("AnyValue", "string_value_strindex", 8, 5), ("ArrayValue", "values", 1, 11),
             ("KeyValueList", "values", 1, 11), ("Span", "trace_id", 1, 12), ("Span", "span_id", 2, 12),
             ("Span", "trace_state", 3, 9), ("Span", "parent_span_id", 4, 12), ("Span", "flags", 16, 7),
             ("Span", "name", 5, 9), ("Span", "kind", 6, 14), ("Span", "start_time_unix_nano", 7, 6),
             ("Span", "end_time_unix_nano", 8, 6), ("Span", "attributes", 9, 11),
             ("Span", "dropped_attributes_count", 10, 13), ("Span", "events", 11, 11),
             ("Span", "dropped_events_count", 12, 13), ("Span", "links", 13, 11),
             ("Span", "dropped_links_count", 14, 13), ("Span", "status", 15, 11), ("Event", "time_unix_nano", 1, 6),
             ("Event", "name", 2, 9), ("Event", "attributes", 3, 11), ("Event", "dropped_attributes_count", 4, 13),
             ("Link", "trace_id", 1, 12), ("Link", "span_id", 2, 12), ("Link", "trace_state", 3, 9),
             ("Link", "attributes", 4, 11), ("Link", "dropped_attributes_count", 5, 13), ("Link", "flags", 6, 7),
             ("Status", "message", 2, 9), ("Status", "code", 3, 14), ("LogRecord", "time_unix_nano", 1, 6),
             ("LogRecord", "observed_time_unix_nano", 11, 6), ("LogRecord", "severity_number", 2, 14),
             ("LogRecord", "severity_text", 3, 9), ("LogRecord", "body", 5, 11), ("LogRecord", "attributes", 6, 11),
             ("LogRecord", "dropped_attributes_count", 7, 13), ("LogRecord", "flags", 8, 7),
             ("LogRecord", "trace_id", 9, 12), ("LogRecord", "span_id", 10, 12), ("LogRecord", "event_name", 12, 9)}
    assert _all_fields() == known
