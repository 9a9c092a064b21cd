"""What one attempt to send a request came to, in the terms of the OTLP specification's client rules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Result(Enum):
    ACCEPTED = "accepted"  # all, or all but `rejected` items (a partial success: never sent again)
    RETRY = "retry"  # a retryable status, or the backend unreachable; `retry_after` is the server's delay if given
    TOO_LARGE = "too_large"  # over the backend's size limit: cut the request and send the pieces
    PERMANENT = "permanent"  # refused for good (e.g. 400): dropped, logged and counted, never retried


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    message: str = ""
    retry_after: float | None = None
    rejected: int = 0

    @classmethod
    def accepted(cls, rejected: int = 0, message: str = "") -> Outcome:
        return cls(Result.ACCEPTED, message, rejected=rejected)

    @classmethod
    def retry(cls, message: str, retry_after: float | None = None) -> Outcome:
        return cls(Result.RETRY, message, retry_after)

    @classmethod
    def too_large(cls, message: str) -> Outcome:
        return cls(Result.TOO_LARGE, message)

    @classmethod
    def permanent(cls, message: str) -> Outcome:
        return cls(Result.PERMANENT, message)


def rejected_items(signal_response) -> tuple[int, str]:
    """(rejected items, the server's message) of an Export<Signal>ServiceResponse's partial_success."""
    if not signal_response.HasField("partial_success"):
        return 0, ""
    partial = signal_response.partial_success
    for name in ("rejected_spans", "rejected_log_records", "rejected_data_points"):
        if hasattr(partial, name):
            return getattr(partial, name), partial.error_message
    return 0, partial.error_message
