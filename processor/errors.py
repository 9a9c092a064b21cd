"""Errors that travel back up the consume chain, as return values do in the Collector.

A receiver turns them into the status a client knows how to handle:
`RetryableError` -> gRPC UNAVAILABLE with a RetryInfo delay / HTTP 503 with Retry-After;
`PermanentError` -> INVALID_ARGUMENT / 400, never retried; `RequestTooLarge` -> RESOURCE_EXHAUSTED / 413;
`RejectedSpans` -> a partial success naming how many spans were refused, or INVALID_ARGUMENT when all were.
"""

from __future__ import annotations

from collections.abc import Set

#: A span as the rest of its pipeline knows it: (trace id, span id).
SpanKey = tuple[bytes, bytes]


class RetryableError(Exception):
    """Downstream is full or down; the same data may succeed later."""

    def __init__(self, message: str, *, retry_after: float | None = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """The data itself was refused; sending it again will not help."""


class RejectedSpans(PermanentError):
    """Some spans of a batch were refused for good (a span too large for a Kafka record); the rest were taken.

    `spans` names each refused span, so that a consumer that merged several callers' requests into one batch (the
    batch processor) answers each caller for its own spans only, and the receiver tells its client how many of
    its spans were refused (OTLP partial success) while the others count as accepted.
    """

    def __init__(self, message: str, spans: Set[SpanKey]) -> None:
        super().__init__(message)
        self.spans = frozenset(spans)

    def among(self, keys: Set[SpanKey]) -> RejectedSpans | None:
        """The same rejection narrowed to the spans in `keys`; None when none of them was refused."""
        mine = self.spans & keys
        return RejectedSpans(str(self), mine) if mine else None


class RequestTooLarge(PermanentError):
    """One request is more than a component can ever take at once (memory_limiter's budget for one request)."""

