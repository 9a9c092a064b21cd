"""Splitting a batch so that no part holds more than a given number of items.

Parts keep the resource and scope of the items they carry. Spans and log records are split one by one,
metrics by data point. Stream records and anomalies go with the part that holds their span, so an exporter still
finds a stream next to its span; those whose span is elsewhere go in the first part. Trace costs, SLO statuses and
feedback all go in the first part: costs roll up traces of earlier batches, a status is per route, and feedback is
often joined to a stream of an earlier batch or arrives in logs, so none has a span of this batch to follow.
"""

from __future__ import annotations

from typing import Any

from processor.model.batch import REQUEST_TYPES, Batch, Signal

_LAYOUT = {
    Signal.TRACES: ("resource_spans", "scope_spans", "spans"),
    Signal.LOGS: ("resource_logs", "scope_logs", "log_records"),
    Signal.METRICS: ("resource_metrics", "scope_metrics", "metrics"),
}


def split_batch(batch: Batch, max_items: int) -> list[Batch]:
    """`batch` itself when it is small enough, else parts of at most `max_items` items each, in order."""
    if max_items <= 0 or batch.item_count() <= max_items:
        return [batch]
    requests = _Splitter(batch.signal, max_items).split(batch.request)
    parts = [Batch(batch.signal, request) for request in requests]
    owner_of: dict[bytes, int] = {}
    if batch.signal is not Signal.METRICS:
        for index, request in enumerate(requests):
            owner_of.update((item.span_id, index) for item in _items(batch.signal, request))
    for record in batch.streams:
        parts[owner_of.get(record.span_id, 0)].streams.append(record)
    for anomaly in batch.anomalies:
        parts[owner_of.get(anomaly.span_id, 0)].anomalies.append(anomaly)
    first = parts[0]
    first.trace_costs, first.slo_status, first.feedback = batch.trace_costs, batch.slo_status, batch.feedback
    for chunks in batch.chunks:  # beside their record
        parts[owner_of.get(chunks.span_id, 0)].chunks.append(chunks)
    first.received_ns = batch.received_ns
    return parts


def _items(signal: Signal, request: Any):
    resource_field, scope_field, item_field = _LAYOUT[signal]
    for resource in getattr(request, resource_field):
        for scope in getattr(resource, scope_field):
            yield from getattr(scope, item_field)


class _Splitter:
    def __init__(self, signal: Signal, max_items: int) -> None:
        self.signal = signal
        self.max_items = max_items
        self.resource_field, self.scope_field, self.item_field = _LAYOUT[signal]
        self.parts: list[Any] = []

    def split(self, request: Any) -> list[Any]:
        self._new_part()
        for resource in getattr(request, self.resource_field):
            self._resource, self._scope = resource, None
            self._out_resource = self._out_scope = None
            for scope in getattr(resource, self.scope_field):
                self._scope, self._out_scope = scope, None
                items = getattr(scope, self.item_field)
                if self.signal is Signal.METRICS:
                    for metric in items:
                        self._add_metric(metric)
                else:
                    self._add_items(items)
        return self.parts

    def _new_part(self) -> None:
        self.parts.append(REQUEST_TYPES[self.signal]())
        self.room = self.max_items
        self._out_resource = self._out_scope = None

    def _target(self) -> Any:
        """The scope container in the current part for the current resource and scope, made on first use."""
        if self._out_resource is None:
            self._out_resource = getattr(self.parts[-1], self.resource_field).add()
            self._out_resource.resource.CopyFrom(self._resource.resource)
            self._out_resource.schema_url = self._resource.schema_url
        if self._out_scope is None:
            self._out_scope = getattr(self._out_resource, self.scope_field).add()
            self._out_scope.scope.CopyFrom(self._scope.scope)
            self._out_scope.schema_url = self._scope.schema_url
        return getattr(self._out_scope, self.item_field)

    def _make_room(self) -> None:
        if self.room == 0:
            self._new_part()

    def _add_items(self, items: Any) -> None:
        start = 0
        while start < len(items):
            self._make_room()
            taken = min(self.room, len(items) - start)
            self._target().extend(items[start:start + taken])
            start += taken
            self.room -= taken

    def _add_metric(self, metric: Any) -> None:
        kind = metric.WhichOneof("data")
        points = getattr(metric, kind).data_points if kind else ()
        if len(points) == 0:
            self._make_room()
            self._target().add().CopyFrom(metric)
            return
        start = 0
        while start < len(points):
            self._make_room()
            taken = min(self.room, len(points) - start)
            piece = self._target().add()
            piece.CopyFrom(metric)
            del getattr(piece, kind).data_points[:]
            getattr(piece, kind).data_points.extend(points[start:start + taken])
            start += taken
            self.room -= taken
