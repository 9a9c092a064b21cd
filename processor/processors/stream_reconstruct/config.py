from __future__ import annotations

from pydantic import Field, field_validator

from processor.config.models import ComponentConfig
from processor.config.types import Duration
from processor.conventions import AUTO, KNOWN


class StreamReconstructConfig(ComponentConfig):
    #: Convention adapters to try, by name; `auto` tries them all.
    conventions: list[str] = Field(default_factory=lambda: ["auto"], min_length=1)
    #: How long a trace's pieces are held after its last piece arrived, so later logs and spans are joined.
    wait: Duration = 5.0
    #: Traces held at most; beyond it the oldest is emitted early and counted as evicted.
    max_traces: int = Field(10000, ge=1)

    @field_validator("conventions")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        unknown = [name for name in names if name != AUTO and name not in KNOWN]
        if unknown:
            raise ValueError(f"unknown convention(s) {unknown}; known: {', '.join((AUTO, *KNOWN))}")
        return names
