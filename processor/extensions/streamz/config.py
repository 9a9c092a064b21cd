from __future__ import annotations

from pydantic import Field, field_validator

from processor.config.models import ComponentConfig
from processor.config.types import Duration, Endpoint


class StreamzConfig(ComponentConfig):
    #: Localhost by default, like every listener of a sidecar; the page shows labels and ids of live traffic.
    endpoint: Endpoint = "127.0.0.1:55680"
    #: How many of the most recent streams the page can show; older ones drop out.
    max_streams: int = Field(default=200, ge=1, le=100_000)
    #: A gap between two chunks at least this long is drawn as a stall. Only for drawing: the `cadence`
    #: processor decides what counts as a stall in the record.
    stall_gap: Duration = 2.0

    @field_validator("stall_gap")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"{value}s is not positive; a stall gap must be more than 0 (e.g. 2s)")
        return value
