from __future__ import annotations

from pydantic import Field

from processor.config.models import ComponentConfig
from processor.config.types import Duration


class CadenceConfig(ComponentConfig):
    #: A gap between two chunks at least this long is a stall.
    stall_gap: Duration = 2.0
    #: When set, a gap at least this many times the stream's median gap is a stall too.
    stall_factor: float | None = Field(None, gt=0)
