"""What the sending queue holds: a kafka record or an otlp request, whatever it carries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Protocol


class Queued(Protocol):
    #: The label of the sent/failed/dropped counters, and how many items of that kind it holds.
    kind: str
    items: int
    #: Monotonic time it was handed over, for the delivery latency; None when recovered from disk.
    enqueued_at: float | None
    #: Set by the sending queue: the Delivery waiting for it, its disk segment; by the sender: its retry state.
    delivery: object | None
    segment: int | None
    attempts: int
    first_failure: float | None

    def to_bytes(self) -> bytes: ...


def items_by_kind(queued: Iterable[Queued]) -> Counter[str]:
    """What the counters count, by kind (spans for a spans record, else one per record; a request's items)."""
    tally: Counter[str] = Counter()
    for item in queued:
        tally[item.kind] += item.items
    return tally
