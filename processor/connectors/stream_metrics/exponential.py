"""Base-2 exponential histograms, per label set, for the stream metrics sent as OTLP exponential histograms.

The same family as the explicit-bucket one (cardinality cap, expiry: series.py), holding for each label set the
OpenTelemetry exponential histogram: a scale, a zero count and positive (and negative) buckets, where bucket
`index` holds the values in (base**index, base**(index + 1)], base = 2**(2**-scale). It starts at scale 20 and
halves its resolution whenever the buckets of one sign would span more than `max_size` indexes, exactly as the
OpenTelemetry SDK's aggregation does (tests compare the two on the same values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from processor.exporters.prometheus.series import HistogramFamily

MAX_SCALE = 20
_LOG2_INV = 1 / math.log(2)


def bucket_index(value: float, scale: int) -> int:
    """The bucket of a value > 0 at `scale`; exact for powers of two, which sit at the top of their bucket."""
    mantissa, exponent = math.frexp(value)  # value = mantissa * 2**exponent, mantissa in [0.5, 1)
    if mantissa == 0.5:  # 2**(exponent - 1) exactly
        return ((exponent - 1) << scale) - 1 if scale > 0 else ((exponent - 2) >> -scale)
    if scale > 0:
        return math.floor(math.log(value) * math.ldexp(_LOG2_INV, scale))
    return (exponent - 1) >> -scale


class Buckets:
    __slots__ = ("offset", "counts")

    def __init__(self, offset: int = 0, counts: list[int] | None = None) -> None:
        self.offset = offset
        self.counts = counts or []

    @property
    def end(self) -> int:
        return self.offset + len(self.counts) - 1

    def add(self, index: int) -> None:
        if not self.counts:
            self.offset, self.counts = index, [1]
            return
        if index < self.offset:
            self.counts[:0] = [0] * (self.offset - index)
            self.offset = index
        elif index > self.end:
            self.counts.extend([0] * (index - self.end))
        self.counts[index - self.offset] += 1

    def downscaled(self, change: int) -> Buckets:
        """The same counts at `change` scales lower: 2**change neighbouring buckets become one."""
        if not self.counts or change == 0:
            return Buckets(self.offset, list(self.counts))
        offset = self.offset >> change
        counts = [0] * ((self.end >> change) - offset + 1)
        for at, count in enumerate(self.counts):
            counts[((self.offset + at) >> change) - offset] += count
        return Buckets(offset, counts)

    def minus(self, earlier: Buckets) -> Buckets:
        """These counts less `earlier`'s (at the same scale, and all within these)."""
        counts = list(self.counts)
        for at, count in enumerate(earlier.counts):
            counts[earlier.offset + at - self.offset] -= count
        return Buckets(self.offset, counts)


class ExponentialSeries:
    __slots__ = ("max_size", "scale", "zero_count", "positive", "negative", "count", "total", "min", "max",
                 "updated")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.scale = MAX_SCALE
        self.zero_count = 0
        self.positive = Buckets()
        self.negative = Buckets()
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.updated = 0.0

    @property
    def reported_scale(self) -> int:
        """The scale the data point carries: 0 while every value was zero (the SDK's choice too)."""
        return 0 if self.count == self.zero_count else self.scale

    def record(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if value == 0:
            self.zero_count += 1
            return
        buckets = self.positive if value > 0 else self.negative
        magnitude = abs(value)
        index = bucket_index(magnitude, self.scale)
        if buckets.counts:
            low, high = min(index, buckets.offset), max(index, buckets.end)
            if high - low >= self.max_size:
                change = 0
                while high - low >= self.max_size:
                    low, high, change = low >> 1, high >> 1, change + 1
                self.positive = self.positive.downscaled(change)
                self.negative = self.negative.downscaled(change)
                self.scale -= change
                index = bucket_index(magnitude, self.scale)
        buckets = self.positive if value > 0 else self.negative
        buckets.add(index)

    def snapshot(self) -> ExponentialSeries:
        copy = ExponentialSeries(self.max_size)
        for name in ("scale", "zero_count", "count", "total", "min", "max", "updated"):
            setattr(copy, name, getattr(self, name))
        copy.positive = Buckets(self.positive.offset, list(self.positive.counts))
        copy.negative = Buckets(self.negative.offset, list(self.negative.counts))
        return copy

    def minus(self, earlier: ExponentialSeries) -> ExponentialSeries:
        """What was recorded since `earlier` (a snapshot of this series), at this series' scale; no min or max."""
        delta = ExponentialSeries(self.max_size)
        delta.scale = self.scale
        delta.zero_count = self.zero_count - earlier.zero_count
        delta.count = self.count - earlier.count
        delta.total = self.total - earlier.total
        change = earlier.scale - self.scale
        delta.positive = self.positive.minus(earlier.positive.downscaled(change))
        delta.negative = self.negative.minus(earlier.negative.downscaled(change))
        return delta


class ExponentialHistogramFamily(HistogramFamily):
    """A histogram family whose series are exponential; `bounds` (the semconv ones) are kept but not used."""

    def __init__(self, name: str, label_names: Sequence[str], bounds: Sequence[float], *, max_size: int = 160,
                 **kwargs) -> None:
        super().__init__(name, label_names, bounds, **kwargs)
        self.max_size = max_size

    def _new(self) -> ExponentialSeries:
        return ExponentialSeries(self.max_size)

    def observe(self, key: tuple[str, ...], value: float, now: float) -> None:
        self._slot(key, now).record(value)

    def merge(self, key, value, now) -> None:
        raise NotImplementedError("exponential histograms are not merged across workers: each sends its own")
