from __future__ import annotations

from pydantic import Field

from processor.config.models import ComponentConfig
from processor.config.types import Duration


class FeedbackConfig(ComponentConfig):
    #: Span event names and log record event names that carry feedback.
    event_names: list[str] = Field(default_factory=lambda: ["gen_ai.feedback", "user.feedback"], min_length=1)
    #: A numeric score (or numeric string); at most `down_at_most` is a thumbs-down, above it a thumbs-up.
    score_attribute: str = "feedback.score"
    down_at_most: float = 0.0
    #: A thumbs value: up/down, 1/-1 (numbers or strings), true/false. Wins over the score when both are set.
    thumbs_attribute: str = "feedback.thumbs"
    #: Where the feedback's session id is read (feedback, then its span, then its resource), in order.
    session_attributes: list[str] = Field(default_factory=lambda: ["session.id", "gen_ai.conversation.id"])
    #: Feedback joins by session the nearest stream of the session that ended at most this long before it.
    session_window: Duration = 600.0
    #: A stream with a TTFT above this is a slow_first_token experience (as is one with such an anomaly).
    slow_ttft: Duration | None = None
    #: How long feedback for a stream not yet seen waits for it; then it is dropped and counted.
    pending_wait: Duration = 60.0
    max_pending: int = Field(10000, ge=1)
    #: Streams remembered for joining, at most (the least recent go first).
    max_streams: int = Field(100000, ge=1)
