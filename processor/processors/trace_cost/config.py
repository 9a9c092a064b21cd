from __future__ import annotations

from pydantic import Field

from processor.config.models import ComponentConfig
from processor.config.types import Duration


class TraceCostConfig(ComponentConfig):
    #: How long after a trace's last stream record its rollup waits for more, before it is emitted.
    wait: Duration = 10.0
    #: Traces held at most; beyond it the oldest is emitted early and counted.
    max_traces: int = Field(10000, ge=1)
