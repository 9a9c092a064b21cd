"""The provider, model, route and tenant of a stream record.

An unknown label is the empty string, which Prometheus treats as the label being absent: unknown is
never guessed. `model` is the response model when known (what actually served), else the request model.
Configured attribute keys for route and tenant are looked up on the record's LLM span in the same batch,
then on that span's resource; only then does the record's own field apply.
"""

from __future__ import annotations

from collections.abc import Callable

from processor.exporters.prometheus.config import LabelSources
from processor.model.batch import Batch, Signal

Labels = tuple[str, str, str, str]


def _attribute(attributes, keys: list[str]) -> str | None:
    for key in keys:
        for kv in attributes:
            if kv.key == key:
                kind = kv.value.WhichOneof("value")
                if kind == "string_value":
                    return kv.value.string_value
                if kind == "bool_value":
                    return "true" if kv.value.bool_value else "false"
                if kind in ("int_value", "double_value"):
                    return str(getattr(kv.value, kind))
    return None


class LabelResolver:
    def __init__(self, sources: LabelSources) -> None:
        self.route_keys = list(sources.route)
        self.tenant_keys = list(sources.tenant)

    def for_batch(self, batch: Batch) -> Callable[[object], Labels]:
        if not (self.route_keys or self.tenant_keys) or batch.signal is not Signal.TRACES:
            return _from_record
        spans: dict[bytes, tuple] | None = None

        def resolve(record) -> Labels:
            nonlocal spans
            if spans is None:  # built once per batch, and only when a record is resolved
                spans = {span.span_id: (span.attributes, rs.resource.attributes)
                         for rs in batch.request.resource_spans for ss in rs.scope_spans for span in ss.spans}
            provider, model, route, tenant = _from_record(record)
            found = spans.get(record.span_id)
            if found is not None:
                route = self._lookup(found, self.route_keys) or route
                tenant = self._lookup(found, self.tenant_keys) or tenant
            return provider, model, route, tenant

        return resolve

    @staticmethod
    def _lookup(found: tuple, keys: list[str]) -> str | None:
        if not keys:
            return None
        span_attributes, resource_attributes = found
        return _attribute(span_attributes, keys) or _attribute(resource_attributes, keys)


def _from_record(record) -> Labels:
    def field(name: str) -> str:
        return getattr(record, name) if record.HasField(name) else ""

    return field("provider"), field("response_model") or field("request_model"), field("route"), field("tenant")
