from __future__ import annotations

from pydantic import field_validator

from processor.config.models import ComponentConfig
from processor.config.types import Endpoint


class HealthCheckConfig(ComponentConfig):
    #: Localhost by default, as for every listener of a sidecar; use 0.0.0.0:13133 for a kubelet probe.
    endpoint: Endpoint = "127.0.0.1:13133"
    path: str = "/"

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f'"{value}" is not an absolute URL path; start it with "/", e.g. /health')
        return value
