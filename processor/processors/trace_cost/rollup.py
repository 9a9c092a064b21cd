"""One trace's cost rollup, summed from its stream records as they come.

Retries' share: the cost of every retry (attempt > 0) plus that of the partial attempts they retried, since
a retry after a partial stream pays for the same answer twice. Unknown stays absent: a trace with no priced
stream has no cost_usd, and `unpriced_streams` says when the total is only a lower bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from processor.model.gen.tokenstream.v1.stream_pb2 import TraceCost
from processor.model.records import StreamRecord

_LABELS = ("route", "tenant", "service")


#: One stream of the trace: (cost, attempt, partial attempt's span id, input tokens, output tokens). A tuple of atomic
#: values, which Python's GC untracks, not a dataclass: a rollup waits `wait` (10 s) after its last record, its streams
#: with it. The tokens are those of the stream's first record (a record seen twice counts once); the rest its last's.
_Stream = tuple[float | None, int, bytes, int | None, int | None]


@dataclass(slots=True)
class TraceRollup:
    trace_id: bytes
    deadline: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    streams: dict[bytes, _Stream] = field(default_factory=dict)  # by span id: a record seen twice counts once
    start: int | None = None
    end: int | None = None

    def add(self, record: StreamRecord) -> None:
        has = record.HasField
        for name in _LABELS:
            if name not in self.labels and has(name) and getattr(record, name):
                self.labels[name] = getattr(record, name)
        cost = record.cost_usd if has("cost_usd") and not math.isnan(record.cost_usd) else None
        seen = self.streams.get(record.span_id)
        if seen is None:
            tokens = (record.input_tokens if has("input_tokens") else None,
                      record.output_tokens if has("output_tokens") else None)
        else:
            tokens = seen[3:]
        self.streams[record.span_id] = (cost, record.attempt if has("attempt") else 0, record.partial_attempt_span_id,
                                        *tokens)
        if has("start_time_unix_nano"):
            self.start = min(self.start or record.start_time_unix_nano, record.start_time_unix_nano)
        if has("end_time_unix_nano"):
            self.end = max(self.end or 0, record.end_time_unix_nano)

    def take_earlier(self, earlier: TraceRollup) -> None:
        """Fold in a rollup of the same trace made from its earlier records (one downstream refused, held again
        after this one began), as if they had been added to this one first."""
        self.labels = {**self.labels, **earlier.labels}  # the first record's label wins, as in `add`
        streams = dict(earlier.streams)
        for span, (cost, attempt, partial, *_) in self.streams.items():
            first = streams.get(span)
            streams[span] = (cost, attempt, partial, *(first[3:] if first else self.streams[span][3:]))
        self.streams = streams
        for name, pick in (("start", min), ("end", max)):
            values = [v for v in (getattr(self, name), getattr(earlier, name)) if v is not None]
            setattr(self, name, pick(values) if values else None)

    def to_message(self) -> TraceCost:
        message = TraceCost(trace_id=self.trace_id, stream_count=len(self.streams), **self.labels)
        priced = [cost for cost, *_ in self.streams.values() if cost is not None]
        message.unpriced_streams = len(self.streams) - len(priced)
        retries = [span for span, (_, attempt, *_) in self.streams.items() if attempt > 0]
        message.retry_count = len(retries)
        partials = {partial for _, attempt, partial, *_ in self.streams.values() if attempt > 0 and partial}
        retried = set(retries) | partials
        if priced:
            total = sum(priced)
            message.cost_usd = total
            retry_cost = sum(self.streams[span][0] or 0.0 for span in retried if span in self.streams)
            message.retry_cost_usd = retry_cost
            if total > 0:
                message.retry_share = retry_cost / total
        for name, value in (("input_tokens", _total(s[3] for s in self.streams.values())),
                            ("output_tokens", _total(s[4] for s in self.streams.values())),
                            ("start_time_unix_nano", self.start), ("end_time_unix_nano", self.end)):
            if value is not None:
                setattr(message, name, value)
        return message


def _total(counts) -> int | None:
    """The sum of the known counts; None when none is known (unknown stays absent)."""
    known = [n for n in counts if n is not None]
    return sum(known) if known else None
