from __future__ import annotations

from processor.config.models import ComponentConfig


class TruncationConfig(ComponentConfig):
    """No settings: the outcome follows from what the span tells (processor.stream.outcome)."""
