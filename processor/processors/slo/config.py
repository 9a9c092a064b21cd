from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from processor.config.models import ComponentConfig
from processor.config.types import Duration


class Threshold(BaseModel):
    """The p95 TTFT a route and model must stay under; `*` matches any."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    route: str = "*"
    model: str = "*"
    p95_ttft: Duration


class SloConfig(ComponentConfig):
    #: Explicit thresholds. The most specific match wins: route and model, then route, then model, then `*`/`*`.
    thresholds: list[Threshold] = Field(default_factory=list)
    #: When set, a route and model without an explicit threshold is held to its own rolling p95 times this.
    baseline_factor: float | None = Field(None, gt=0)
    #: How far back the baseline looks, before the evaluation window (the window itself is not baseline).
    baseline_window: Duration = 3600.0
    #: Threshold for a route and model with no explicit one and no baseline yet (or none configured).
    default_p95_ttft: Duration | None = None
    #: The sliding window the p95 is measured over, by the records' own end times.
    window: Duration = 300.0
    #: Streams the window must hold before it is judged; with fewer, the state stays as it was.
    min_streams: int = Field(20, ge=1)
    #: Route and model pairs tracked at most; beyond it the least recently seen is forgotten.
    max_series: int = Field(1000, ge=1)
    #: TTFT samples kept per route and model (window and baseline together); the oldest go first.
    max_samples: int = Field(10000, ge=10)

    @model_validator(mode="after")
    def _window_positive(self) -> SloConfig:
        if self.window <= 0:
            raise ValueError("window must be more than 0 (e.g. 5m)")
        if self.baseline_factor is not None and self.baseline_window <= 0:
            raise ValueError("baseline_window must be more than 0 when baseline_factor is set (e.g. 1h)")
        return self

    def threshold_for(self, route: str, model: str) -> float | None:
        """The explicit threshold for this route and model, most specific match first."""
        best, best_rank = None, -1
        for t in self.thresholds:
            if t.route not in ("*", route) or t.model not in ("*", model):
                continue
            rank = 2 * (t.route != "*") + (t.model != "*")
            if rank > best_rank:
                best, best_rank = t.p95_ttft, rank
        return best
