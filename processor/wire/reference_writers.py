"""The reference writers: each edit made through upb messages and serialized. The compiled writers' output must
decode to exactly what these give (tests/wire/test_writers.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from processor.stream.enrich import add_attributes as add_to_span
from processor.wire.index import VALID, LogIndex, TraceIndex, TracePart, WireError
from processor.wire.redact import SUMMARY_COUNT, SUMMARY_KEYS, Redacted, RedactRule


def _decode(message_type: type, data: bytes) -> Any:
    try:
        return message_type.FromString(data)
    except DecodeError as exc:
        raise WireError(str(exc)) from None


def _layout(request: Any, logs: bool) -> tuple[list, list, list]:
    """The request's resource entries, scope entries and items, each in index order."""
    resources = list(request.resource_logs if logs else request.resource_spans)
    scopes = [scope for resource in resources for scope in (resource.scope_logs if logs else resource.scope_spans)]
    items = [item for scope in scopes for item in (scope.log_records if logs else scope.spans)]
    return resources, scopes, items


def _shell(message: Any, children: str) -> Any:
    """A copy of a resource or scope entry without its children (every other field, unknown ones too, kept)."""
    shell = type(message)()
    shell.CopyFrom(message)
    shell.ClearField(children)
    return shell


def _cached_shell(shells: dict[int, Any], position: int, entries: list, children: str) -> Any:
    shell = shells.get(position)
    if shell is None:
        shell = shells[position] = _shell(entries[position], children)
    return shell


def by_trace(index: TraceIndex) -> list[TracePart]:
    groups: dict[bytes, list[int]] = {}
    for row in range(len(index)):
        if index.flags[row] & VALID:
            groups.setdefault(index.trace_id(row), []).append(row)
    if len(groups) == 1 and len(index) == sum(map(len, groups.values())):
        trace_id, rows = next(iter(groups.items()))
        return [TracePart(trace_id, index.buf, len(rows))]  # the request is that trace: sent as it came
    if not groups:
        return []
    selector = _Selector(index)
    return [TracePart(trace_id, selector.select(rows), len(rows)) for trace_id, rows in groups.items()]


def select_spans(index: TraceIndex, rows: Any) -> bytes:
    return _Selector(index).select(rows)


class _Selector:
    def __init__(self, index: TraceIndex) -> None:
        self.index = index
        self.resources, self.scopes, self.spans = _layout(_decode(ExportTraceServiceRequest, index.buf), False)
        self.resource_shells: dict[int, Any] = {}
        self.scope_shells: dict[int, Any] = {}

    def select(self, rows: Any) -> bytes:
        index, out = self.index, ExportTraceServiceRequest()
        current_resource = current_scope = None
        for row in sorted(set(rows)):
            resource, scope = index.span_resource[row], index.span_scope[row]
            if resource != current_resource:
                resource_out = out.resource_spans.add()
                resource_out.CopyFrom(_cached_shell(self.resource_shells, resource, self.resources, "scope_spans"))
                current_resource, current_scope = resource, None
            if scope != current_scope:
                scope_out = resource_out.scope_spans.add()
                scope_out.CopyFrom(_cached_shell(self.scope_shells, scope, self.scopes, "spans"))
                current_scope = scope
            scope_out.spans.add().CopyFrom(self.spans[row])
        return out.SerializeToString()


def _drop(index: Any, rows: Any, logs: bool) -> bytes:
    message_type = ExportLogsServiceRequest if logs else ExportTraceServiceRequest
    request = _decode(message_type, index.buf)
    doomed = set(rows)
    if not doomed:
        return index.buf
    _, scopes, _ = _layout(request, logs)
    row = 0
    for scope in scopes:
        items = scope.log_records if logs else scope.spans
        hits = [position for position in range(len(items)) if row + position in doomed]
        row += len(items)
        for position in reversed(hits):
            del items[position]
    return request.SerializeToString()


def drop_spans(index: TraceIndex, rows: Any) -> bytes:
    return _drop(index, rows, False)


def drop_logs(index: LogIndex, rows: Any) -> bytes:
    return _drop(index, rows, True)


def add_attributes(index: TraceIndex, additions: Mapping[int, Mapping[str, Any]]) -> bytes:
    if not any(any(v is not None for v in values.values()) for values in additions.values()):
        return index.buf
    request = _decode(ExportTraceServiceRequest, index.buf)
    _, _, spans = _layout(request, False)
    for row, values in additions.items():
        add_to_span(spans[row], dict(values))
    return request.SerializeToString()


def _redact_list(attributes: Any, rule: RedactRule, found: list[str], prefix: str = "") -> None:
    hits = [position for position, kv in enumerate(attributes) if rule.matches(kv.key)]
    found.extend(prefix + attributes[position].key for position in hits)
    if rule.digest is None:
        for position in reversed(hits):
            del attributes[position]
        return
    for position in hits:
        kv = attributes[position]
        key, digest = kv.key, rule.digest(kv.value.SerializeToString())
        kv.Clear()
        kv.key = key
        kv.value.string_value = digest


def redact_body(body: AnyValue, rule: RedactRule, found: list[str]) -> AnyValue | None:
    """A gen_ai log record's body redacted in place (None: the body is to be removed); paths appended to `found`.
    One implementation, used by both backends' writers."""
    kind = body.WhichOneof("value")
    if kind == "string_value":
        if body.string_value:
            found.append("body")
            if rule.digest is None:
                return None
            body.string_value = rule.digest(body.SerializeToString())
        return body
    pending = [(body, "body")]  # a stack, not recursion: bodies may nest deeply
    while pending:
        value, path = pending.pop()
        kind = value.WhichOneof("value")
        if kind == "kvlist_value":
            entries = value.kvlist_value.values
            hits = [position for position, kv in enumerate(entries) if kv.key in rule.body_fields]
            found.extend(f"{path}.{entries[position].key}" for position in hits)
            if rule.digest is None:
                for position in reversed(hits):
                    del entries[position]
            else:
                for position in hits:
                    kv = entries[position]
                    key, digest = kv.key, rule.digest(kv.value.SerializeToString())
                    kv.Clear()
                    kv.key = key
                    kv.value.string_value = digest
            pending.extend((kv.value, f"{path}.{kv.key}") for kv in entries if kv.key not in rule.body_fields)
        elif kind == "array_value":
            pending.extend((item, path) for item in value.array_value.values)
    return body


def _summarise(attributes: Any, rule: RedactRule, found: list[str]) -> None:
    if found and rule.summary:
        for position in reversed(range(len(attributes))):
            if attributes[position].key in (SUMMARY_KEYS, SUMMARY_COUNT):
                del attributes[position]
        attributes.add(key=SUMMARY_KEYS).value.string_value = ",".join(sorted(set(found)))
        attributes.add(key=SUMMARY_COUNT).value.int_value = len(found)


def _event_name(record: Any) -> str:
    if record.event_name:
        return record.event_name
    value = {kv.key: kv.value for kv in record.attributes}.get("event.name")
    return value.string_value if value is not None and value.WhichOneof("value") == "string_value" else ""


def drop_attributes(index: TraceIndex | LogIndex, rule: RedactRule) -> Redacted:
    logs = isinstance(index, LogIndex)
    request = _decode(ExportLogsServiceRequest if logs else ExportTraceServiceRequest, index.buf)
    resources, scopes, items = _layout(request, logs)
    outer: list[str] = []
    for resource in resources:
        _redact_list(resource.resource.attributes, rule, outer)
    for scope in scopes:
        _redact_list(scope.scope.attributes, rule, outer)
    total = len(outer)
    for item in items:
        found: list[str] = []
        # a log record's event name as it came (before an `event.name` attribute could be redacted)
        genai = logs and bool(rule.body_fields) and item.HasField("body") and _event_name(item).startswith(
            rule.body_event_prefix)
        _redact_list(item.attributes, rule, found)
        if genai and redact_body(item.body, rule, found) is None:
            item.ClearField("body")
        if not logs:
            for event in item.events:
                _redact_list(event.attributes, rule, found)
            for link in item.links:
                _redact_list(link.attributes, rule, found)
        _summarise(item.attributes, rule, found)
        total += len(found)
    if not total:
        return Redacted(index.buf, 0)
    return Redacted(request.SerializeToString(), total)

