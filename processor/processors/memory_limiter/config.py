from __future__ import annotations

from pydantic import Field, model_validator

from processor.config.models import ComponentConfig
from processor.config.types import Duration


class MemoryLimiterConfig(ComponentConfig):
    #: How often memory use is measured. Reading it costs a few microseconds (/proc/self/statm), so it is read
    #: often: under a burst, a second between readings lets memory outgrow the spike headroom.
    check_interval: Duration = 0.1
    #: Hard limit on the process's resident memory; data is refused from `limit_mib - spike_limit_mib` on.
    limit_mib: int | None = Field(None, gt=0)
    #: Headroom for a burst between two checks; default 20% of limit_mib.
    spike_limit_mib: int | None = Field(None, ge=0)
    #: Above the soft limit, garbage is collected (and the C heap's free pages handed back) at most this often;
    #: at the hard limit, at every check. As the Collector's memory_limiter.
    min_gc_interval_when_soft_limited: Duration = 10.0
    #: Alternative to limit_mib: a share of the memory available (cgroup limit, else physical memory).
    limit_percentage: int | None = Field(None, gt=0, le=100)
    spike_limit_percentage: int | None = Field(None, ge=0, le=100)

    @model_validator(mode="after")
    def _limits_make_sense(self) -> MemoryLimiterConfig:
        if self.check_interval <= 0:
            raise ValueError("check_interval must be more than 0 (e.g. 1s)")
        if self.min_gc_interval_when_soft_limited < 0:
            raise ValueError("min_gc_interval_when_soft_limited must be 0 or more (e.g. 10s)")
        if self.limit_mib is None and self.limit_percentage is None:
            raise ValueError("limit_mib is required: set it to the memory the process may use (e.g. limit_mib: 512), "
                             "or set limit_percentage instead")
        if self.limit_mib is not None and self.limit_percentage is not None:
            raise ValueError("limit_mib and limit_percentage are both set; keep one of them")
        if self.limit_mib is not None and self.spike_limit_mib is not None and self.spike_limit_mib >= self.limit_mib:
            raise ValueError(f"spike_limit_mib ({self.spike_limit_mib}) must be less than limit_mib "
                             f"({self.limit_mib}); lower spike_limit_mib or leave it out (default 20% of limit_mib)")
        if self.limit_percentage is not None and self.spike_limit_percentage is not None \
                and self.spike_limit_percentage >= self.limit_percentage:
            raise ValueError(f"spike_limit_percentage ({self.spike_limit_percentage}) must be less than "
                             f"limit_percentage ({self.limit_percentage}); lower spike_limit_percentage or leave it "
                             f"out (default 20% of the limit)")
        return self

    def limits_bytes(self, total_memory: int) -> tuple[int, int]:
        """(hard limit, soft limit) in bytes; `total_memory` is used only with the percentage settings."""
        if self.limit_mib is not None:
            hard = self.limit_mib * 2**20
            spike = self.spike_limit_mib * 2**20 if self.spike_limit_mib is not None else hard // 5
        else:
            hard = total_memory * self.limit_percentage // 100
            spike = (total_memory * self.spike_limit_percentage // 100 if self.spike_limit_percentage is not None
                     else hard // 5)
        return hard, hard - spike
