"""Errors that travel back up the consume chain, as return values do in the Collector.

A receiver turns them into the status a client knows how to handle:
`RetryableError` -> gRPC UNAVAILABLE with a RetryInfo delay / HTTP 503 with Retry-After;
`PermanentError` -> INVALID_ARGUMENT / 400, never retried; `RequestTooLarge` -> RESOURCE_EXHAUSTED / 413.
"""

from __future__ import annotations


class RetryableError(Exception):
    """Downstream is full or down; the same data may succeed later."""

    def __init__(self, message: str, *, retry_after: float | None = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """The data itself was refused; sending it again will not help."""


class RequestTooLarge(PermanentError):
    """One request is more than a component can ever take at once (memory_limiter's budget for one request)."""


class ConfigError(Exception):
    """A configuration problem found while building the pipeline; `problems` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
