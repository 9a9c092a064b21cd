"""The stream_metrics connector's config: the prometheus exporter's naming, labels and cap, plus the OTLP choices."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from processor.config.types import Duration
from processor.exporters.prometheus.config import StreamMetricsOptions


class StreamMetricsConfig(StreamMetricsOptions):
    #: cumulative (every interval, every live series since its start) or delta (what changed since the last send).
    temporality: Literal["cumulative", "delta"] = "cumulative"
    #: explicit: the semconv bucket boundaries (as Prometheus serves them); exponential: base-2, rescaling itself.
    histogram: Literal["explicit", "exponential"] = "explicit"
    #: Buckets an exponential histogram keeps per sign (the OpenTelemetry SDK's default).
    exponential_max_size: int = Field(160, ge=2)
    #: How often the metrics are sent into the metrics pipelines (and once more at shutdown).
    interval: Duration = 60.0
    #: Resource attributes of every metric sent; `service.instance.id` is added per process, so that each
    #: worker's (or replica's) cumulative series stay apart.
    resource_attributes: dict[str, str] = Field(default_factory=lambda: {"service.name": "tokenstream"})

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("interval must be more than 0 (e.g. 60s)")
        return value
