"""The otlphttp exporter's config: the otlp exporter's, with a base URL, per-signal URLs and the encoding."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import field_validator

from processor.exporters.otlp.config import OtlpExporterConfig
from processor.model.batch import Signal


def _check_url(value: str | None, what: str) -> str | None:
    if not value:
        return value
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f'"{value}" is not an {what} URL (e.g. http://collector:4318)')
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f'"{value}" has no valid port') from None
    return value.strip()


class OtlpHttpExporterConfig(OtlpExporterConfig):
    #: The base URL; `/v1/traces`, `/v1/logs` and `/v1/metrics` are added. Empty turns the exporter off.
    endpoint: str
    #: Full URLs for one signal, used as given (e.g. a backend that takes traces at a path of its own).
    traces_endpoint: str | None = None
    logs_endpoint: str | None = None
    metrics_endpoint: str | None = None
    #: `proto` sends the bytes the pipeline holds; `json` re-encodes them as OTLP/JSON.
    encoding: Literal["proto", "json"] = "proto"

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return _check_url(value, "OTLP/HTTP endpoint") or ""

    @field_validator("traces_endpoint", "logs_endpoint", "metrics_endpoint")
    @classmethod
    def _signal_endpoint(cls, value: str | None) -> str | None:
        return _check_url(value, "OTLP/HTTP")

    def url(self, signal: Signal) -> str:
        return getattr(self, f"{signal.value}_endpoint") or f"{self.endpoint.rstrip('/')}/v1/{signal.value}"
