from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from processor.config.models import ComponentConfig
from processor.config.types import Endpoint


class StreamzConfig(ComponentConfig):
    #: Localhost by default, like every listener of a sidecar; the page shows labels and ids of live traffic.
    endpoint: Endpoint = "127.0.0.1:55680"
    #: How many of the most recent streams the page can show; older ones drop out.
    max_streams: int = Field(default=200, ge=1, le=100_000)

    @model_validator(mode="before")
    @classmethod
    def _no_stall_gap(cls, data: Any) -> Any:
        # the page once found stalls itself; a config that still sets the gap would silently mean nothing
        if isinstance(data, dict) and "stall_gap" in data:
            raise ValueError("stall_gap is no longer a streamz setting: the page draws the stalls the stream "
                             "processor found. Remove it here and set processors::stream::cadence (stall_gap, "
                             "stall_factor) instead")
        return data
