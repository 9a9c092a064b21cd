"""The top-level config shape and the base for every component's config model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from processor.config.types import Duration, Endpoint


class ComponentConfig(BaseModel):
    """Base for component configs: unknown keys are an error, as in the Collector."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    def endpoints(self) -> dict[str, str]:
        """Every `endpoint` this component listens on, by its config path: used to find port clashes."""
        return dict(_find_endpoints(self, ""))


def _find_endpoints(model: BaseModel, prefix: str):
    for name, value in model:
        path = f"{prefix}::{name}" if prefix else name
        if name == "endpoint" and isinstance(value, str) and listens(model):
            yield path, value
        elif isinstance(value, BaseModel):
            yield from _find_endpoints(value, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    yield from _find_endpoints(item, f"{path}::{key}")


def listens(model: BaseModel) -> bool:
    """A model that holds a client's target (not a listener) says so with `listen = False`."""
    return getattr(model, "listen", True)


class MetricsTelemetry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    address: Endpoint = "127.0.0.1:8888"
    level: Literal["none", "basic", "normal", "detailed"] = "normal"


class LogsTelemetry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    level: Literal["debug", "info", "warn", "warning", "error"] = "info"
    encoding: Literal["console", "json"] = "console"


class Telemetry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metrics: MetricsTelemetry = Field(default_factory=MetricsTelemetry)
    logs: LogsTelemetry = Field(default_factory=LogsTelemetry)


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    receivers: list[str] = Field(default_factory=list)
    processors: list[str] = Field(default_factory=list)
    exporters: list[str] = Field(default_factory=list)


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    extensions: list[str] = Field(default_factory=list)
    pipelines: dict[str, PipelineConfig] = Field(default_factory=dict)
    telemetry: Telemetry = Field(default_factory=Telemetry)
    shutdown_timeout: Duration = 30.0
    #: Processes serving the same ports (SO_REUSEPORT) under one supervisor; 1 runs in this process alone.
    workers: int = Field(1, ge=1)


KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")


class RawConfig(BaseModel):
    """The document before per-component models are applied: component bodies stay plain dicts."""

    model_config = ConfigDict(extra="forbid")
    receivers: dict[str, Any] = Field(default_factory=dict)
    processors: dict[str, Any] = Field(default_factory=dict)
    exporters: dict[str, Any] = Field(default_factory=dict)
    extensions: dict[str, Any] = Field(default_factory=dict)
    connectors: dict[str, Any] = Field(default_factory=dict)
    service: dict[str, Any] = Field(default_factory=dict)
