"""Cutting an OTLP trace request into Kafka-sized pieces.

`by_trace` groups spans by trace id, keeping each span under its own resource and scope. `fit`
splits a request whose encoding is over the size limit: by resource, then by scope, then by span,
until every piece fits. A span is not cut: one bigger than the limit stays a piece of its own, over the limit,
which Kafka will not take; the exporter refuses it to its client and keeps it in its dead-letter file.
`fit` cuts log and metric requests the same way (by resource, scope, then log record or metric): the otlp
exporters use it for a request over the backend's size limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

#: Per request type: its resources, each resource's scopes, and each scope's items (what a piece holds).
_FIELDS = {
    ExportTraceServiceRequest: ("resource_spans", "scope_spans", "spans"),
    ExportLogsServiceRequest: ("resource_logs", "scope_logs", "log_records"),
    ExportMetricsServiceRequest: ("resource_metrics", "scope_metrics", "metrics"),
}


def by_trace(request: ExportTraceServiceRequest) -> dict[bytes, ExportTraceServiceRequest]:
    """One request per trace id, in order of first appearance."""
    trace_ids = {span.trace_id for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans}
    if len(trace_ids) <= 1:
        return {trace_id: request for trace_id in trace_ids}
    parts: dict[bytes, ExportTraceServiceRequest] = {}
    for rs in request.resource_spans:
        resource_of: dict[bytes, object] = {}
        for ss in rs.scope_spans:
            scope_of: dict[bytes, object] = {}
            for span in ss.spans:
                target = scope_of.get(span.trace_id)
                if target is None:
                    resource = resource_of.get(span.trace_id)
                    if resource is None:
                        part = parts.setdefault(span.trace_id, ExportTraceServiceRequest())
                        resource = resource_of[span.trace_id] = part.resource_spans.add()
                        resource.resource.CopyFrom(rs.resource)
                        resource.schema_url = rs.schema_url
                    target = scope_of[span.trace_id] = resource.scope_spans.add()
                    target.scope.CopyFrom(ss.scope)
                    target.schema_url = ss.schema_url
                target.spans.add().CopyFrom(span)
    return parts


def fit(request, encode: Callable[[object], bytes], limit: int) -> list[tuple[object, bytes]]:
    """(piece, its encoding) pairs, each encoding at most `limit` bytes unless it is one span."""
    data = encode(request)
    if len(data) <= limit:
        return [(request, data)]
    pieces = _split(request, math.ceil(len(data) / limit))
    if pieces is None:
        return [(request, data)]
    return [fitted for piece in pieces for fitted in fit(piece, encode, limit)]


def _split(request, count: int) -> list | None:
    """About `count` pieces of similar size, cut at the highest level that has more than one child."""
    resources_field, scopes_field, items_field = _FIELDS[type(request)]
    resources = getattr(request, resources_field)
    if len(resources) > 1:
        groups = _groups(list(resources), count)
        return [_request(request, group) for group in groups]
    if not resources:
        return None
    rs = resources[0]
    scopes = getattr(rs, scopes_field)
    if len(scopes) > 1:
        return [_request(request, [_resource(rs, scopes_field, group)]) for group in _groups(list(scopes), count)]
    if not scopes or len(getattr(scopes[0], items_field)) <= 1:
        return None
    ss = scopes[0]
    pieces = []
    for group in _groups(list(getattr(ss, items_field)), count):
        scope = ss.__class__(scope=ss.scope, schema_url=ss.schema_url)
        getattr(scope, items_field).extend(group)
        pieces.append(_request(request, [_resource(rs, scopes_field, [scope])]))
    return pieces


def _groups(items: list, count: int) -> list[list]:
    """`items` cut into at most `count` (and at least two) runs of about equal encoded size, in order."""
    count = max(2, min(count, len(items)))
    sizes = [item.ByteSize() for item in items]
    target = sum(sizes) / count
    groups: list[list] = [[]]
    filled = 0
    for item, size in zip(items, sizes, strict=True):
        if groups[-1] and filled + size > target and len(groups) < count:
            groups.append([])
            filled = 0
        groups[-1].append(item)
        filled += size
    if len(groups) == 1:  # one item holds nearly everything: still make progress
        groups = [groups[0][:1], groups[0][1:]]
    return groups


def _resource(rs, scopes_field: str, scopes: list):
    resource = rs.__class__(resource=rs.resource, schema_url=rs.schema_url)
    getattr(resource, scopes_field).extend(scopes)
    return resource


def _request(like, resources: list):
    request = type(like)()
    getattr(request, _FIELDS[type(like)][0]).extend(resources)
    return request
