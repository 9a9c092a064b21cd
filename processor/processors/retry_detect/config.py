from __future__ import annotations

from pydantic import Field

from processor.config.models import ComponentConfig
from processor.config.types import Duration


class RetryDetectConfig(ComponentConfig):
    #: A call that starts within this time of a failed one (same parent, operation and model) retries it.
    window: Duration = 60.0
    #: Attributes that mark a retry; a retry that carries none of them is an unmarked retry.
    markers: list[str] = Field(default_factory=lambda: ["http.request.resend_count"])
