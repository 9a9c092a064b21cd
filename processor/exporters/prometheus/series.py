"""Label-keyed aggregates that prometheus_client's own metrics lack: a series cap and idle-series expiry.

A family keeps one small aggregate per label set. Beyond `limit` label sets, a new one is folded into a
single series whose every label is `__overflow__`, and `on_overflow` is called so the fold is counted.
A series not updated for `ttl` seconds is dropped on the next `expire`. Everything runs on the event loop
(consume and scrape alike), so there is no locking.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence

OVERFLOW = "__overflow__"


class HistogramSeries:
    __slots__ = ("counts", "total", "updated")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * (buckets + 1)  # per bucket, not cumulative; the last one is +Inf
        self.total = 0.0
        self.updated = 0.0


class CounterSeries:
    __slots__ = ("value", "updated")

    def __init__(self) -> None:
        self.value = 0.0
        self.updated = 0.0


class _Family:
    def __init__(self, name: str, label_names: Sequence[str], *, limit: int, ttl: float,
                 on_overflow: Callable[[str], None], otel_name: str = "", unit: str = "") -> None:
        self.name = name
        #: The OpenTelemetry name and unit (semconv where one exists) under which the OTLP metrics carry it.
        self.otel_name = otel_name
        self.unit = unit
        self.label_names = tuple(label_names)
        self.limit = limit
        self.ttl = ttl
        self.on_overflow = on_overflow
        self.series: dict[tuple[str, ...], object] = {}
        self.overflow: object | None = None
        self._overflow_key = (OVERFLOW,) * len(self.label_names)

    def _new(self) -> object:
        raise NotImplementedError

    def _slot(self, key: tuple[str, ...], now: float):
        series = self.series.get(key)
        if series is None:
            if key == self._overflow_key:  # another worker's overflow, being merged: it stays the overflow
                if self.overflow is None:
                    self.overflow = self._new()
                series = self.overflow
            elif len(self.series) < self.limit:
                series = self.series[key] = self._new()
            else:
                self.on_overflow(self.name)
                if self.overflow is None:
                    self.overflow = self._new()
                series = self.overflow
        series.updated = now
        return series

    def expire(self, now: float) -> None:
        cutoff = now - self.ttl
        stale = [key for key, series in self.series.items() if series.updated < cutoff]
        for key in stale:
            del self.series[key]
        if self.overflow is not None and self.overflow.updated < cutoff:
            self.overflow = None

    def items(self) -> Iterator[tuple[tuple[str, ...], object]]:
        yield from self.series.items()
        if self.overflow is not None:
            yield self._overflow_key, self.overflow

    def __len__(self) -> int:
        return len(self.series) + (self.overflow is not None)


class HistogramFamily(_Family):
    def __init__(self, name: str, label_names: Sequence[str], bounds: Sequence[float], **kwargs) -> None:
        super().__init__(name, label_names, **kwargs)
        self.bounds = tuple(float(b) for b in bounds)
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError(f"{name}: bucket bounds must be strictly increasing")

    def _new(self) -> HistogramSeries:
        return HistogramSeries(len(self.bounds))

    def observe(self, key: tuple[str, ...], value: float, now: float) -> None:
        series = self._slot(key, now)
        series.counts[bisect_left(self.bounds, value)] += 1  # value <= bound lands in that bucket (le)
        series.total += value

    def merge(self, key: tuple[str, ...], value: tuple[Sequence[int], float], now: float) -> None:
        """Add another aggregate's (per-bucket counts, total) for `key`, e.g. another worker's."""
        counts, total = value
        series = self._slot(key, now)
        if len(counts) != len(series.counts):
            raise ValueError(f"{self.name}: {len(counts)} buckets to merge into {len(series.counts)}")
        series.counts = [a + b for a, b in zip(series.counts, counts, strict=True)]
        series.total += total

    @staticmethod
    def value_of(series: HistogramSeries) -> tuple[list[int], float]:
        return list(series.counts), series.total


class CounterFamily(_Family):
    def _new(self) -> CounterSeries:
        return CounterSeries()

    def inc(self, key: tuple[str, ...], amount: float, now: float) -> None:
        self._slot(key, now).value += amount

    merge = inc

    @staticmethod
    def value_of(series: CounterSeries) -> float:
        return series.value
