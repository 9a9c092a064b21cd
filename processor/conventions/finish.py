"""One spelling for finish reasons: libraries disagree (`tool_call` vs `tool_calls`, `tool-calls`, `max_tokens`)."""

from __future__ import annotations

from collections.abc import Iterable

_ALIASES = {
    "tool_call": "tool_calls",  # Traceloop, and the semconv OutputMessage enum
    "tool_use": "tool_calls",  # Anthropic
    "max_tokens": "length",  # Anthropic, Gemini (MAX_TOKENS)
    "end_turn": "stop",  # Anthropic
    "stop_sequence": "stop",
}
#: Values written where no finish reason was received: OpenLIT `""`, openai-v2 `"error"` (no finish chunk came),
#: Vercel `"unknown"`.
_NONE = frozenset({"", "error", "unknown", "none", "null"})


def normalise(reason: str | None) -> str | None:
    if reason is None:
        return None
    reason = reason.strip().lower().replace("-", "_")
    if reason in _NONE:
        return None
    return _ALIASES.get(reason, reason)


def first_reason(reasons: Iterable[str | None] | None) -> str | None:
    """The first meaningful reason of a list (one per choice), normalised."""
    for reason in reasons or ():
        normalised = normalise(reason)
        if normalised is not None:
            return normalised
    return None
