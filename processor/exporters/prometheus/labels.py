"""The provider, model, route and tenant of a stream record.

An unknown label is the empty string, which Prometheus treats as the label being absent: unknown is
never guessed. `model` is the response model when known (what actually served), else the request model. Route and
tenant are the record's own, which the `stream` processor took from its `route_keys` and `tenant_keys` (on the
LLM span, then its resource): a final record never travels with its span, so they cannot be looked up here.
"""

from __future__ import annotations

Labels = tuple[str, str, str, str]


def record_labels(record) -> Labels:
    def field(name: str) -> str:
        return getattr(record, name) if record.HasField(name) else ""

    return field("provider"), field("response_model") or field("request_model"), field("route"), field("tenant")
