"""The prometheus exporter's config: where it listens, how names and labels look, and how many series it keeps."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from processor.config.models import ComponentConfig
from processor.config.types import Duration, Endpoint

#: Labels the exporter writes itself; const_labels may not reuse them.
RESERVED_LABELS = frozenset({"provider", "model", "route", "tenant", "outcome", "reason", "gen_ai_token_type", "le",
                             "quantile"})
_METRIC_PREFIX = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class StreamMetricsOptions(ComponentConfig):
    """What the stream metrics are called and labelled, and how many series they keep: shared by the prometheus
    exporter and the stream_metrics connector (OTLP), so both serve the same series."""

    #: Prefix for every stream metric, joined with `_` (the tokenstream_* self-telemetry keeps its names).
    namespace: str | None = None
    #: Labels added to every stream metric.
    const_labels: dict[str, str] = Field(default_factory=dict)
    #: Gone: route and tenant come from the record (`labels` is refused with where to set them now).
    labels: None = None
    #: Label sets kept per metric; new ones beyond it are folded into one `__overflow__` series, and counted.
    cardinality_limit: int = Field(1000, ge=1)
    #: A series not updated for this long is removed.
    metric_expiration: Duration = 300.0

    @field_validator("namespace")
    @classmethod
    def _namespace_is_a_metric_prefix(cls, value: str | None) -> str | None:
        if value is not None and not _METRIC_PREFIX.match(value):
            raise ValueError(f'"{value}" is not a metric name prefix (letters, digits, _ and :, not starting '
                             "with a digit)")
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_moved(cls, value: object) -> None:
        if value is not None:
            raise ValueError("route and tenant are the stream record's own now: list the attribute keys under "
                             "processors::stream::route_keys and tenant_keys (tried on the LLM span, then its "
                             "resource) and remove labels here")
        return None

    @field_validator("const_labels")
    @classmethod
    def _const_labels_are_label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _LABEL_NAME.match(name) or name.startswith("__"):
                raise ValueError(f'"{name}" is not a label name (letters, digits and _, not starting with a digit '
                                 "or __)")
            if name in RESERVED_LABELS:
                raise ValueError(f'"{name}" is a label the exporter sets itself; choose another name')
        return value

    @field_validator("metric_expiration")
    @classmethod
    def _expiration_positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("metric_expiration must be more than 0 (e.g. 5m)")
        return value


class PrometheusConfig(StreamMetricsOptions):
    #: Where `/metrics` is served; port 0 picks a free port.
    endpoint: Endpoint = "127.0.0.1:9464"  # all interfaces only when the config says so
