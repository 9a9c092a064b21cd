from __future__ import annotations

from pydantic import Field

from processor.config.models import ComponentConfig
from processor.config.types import Duration


class ReconnectConfig(ComponentConfig):
    #: A new stream in the same session that starts within this time after an aborted or truncated one ended
    #: reconnects it.
    reconnect_window: Duration = 30.0
    #: Sessions whose last broken stream is remembered, at most; beyond it the oldest is forgotten and counted.
    max_sessions: int = Field(10000, ge=1)
