"""TTFT samples of one route and model, by the records' own end times: the evaluation window and the baseline.

A sample enters the window; once older than the window it moves to the baseline, and leaves that after the
baseline window. Both are bounded together by `max_samples` (the oldest go first).

Each part keeps its TTFTs sorted beside its samples, and the earliest end time in it (or an earlier one): a batch
evaluates its routes' p95 by index instead of sorting up to max_samples values, and a slide that has nothing to move
does not walk the samples. (Sorting and walking every window per batch were ~13% of the CPU on LLM spans.)
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque


def p95(values) -> float:
    """Nearest-rank 95th percentile of a non-empty collection."""
    return p95_of_sorted(sorted(values))


def p95_of_sorted(ordered: list[float]) -> float:
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


class _Part:
    """Samples (end time ns, ttft s) in arrival order, their TTFTs sorted, and a lower bound of their end times."""

    __slots__ = ("samples", "ttfts", "earliest")

    def __init__(self) -> None:
        self._reset(deque())

    def _reset(self, samples: deque[tuple[int, float]]) -> None:
        self.samples = samples
        self.ttfts = sorted(s[1] for s in samples)
        self.earliest = min((s[0] for s in samples), default=math.inf)

    def __len__(self) -> int:
        return len(self.samples)

    def append(self, sample: tuple[int, float]) -> None:
        self.samples.append(sample)
        insort(self.ttfts, sample[1])
        if sample[0] < self.earliest:
            self.earliest = sample[0]

    def extend(self, samples: list[tuple[int, float]]) -> None:
        if len(samples) < 8:
            for sample in samples:
                self.append(sample)
            return
        self.samples.extend(samples)
        self._reset(self.samples)

    def popleft(self) -> None:
        _, ttft = self.samples.popleft()
        del self.ttfts[bisect_left(self.ttfts, ttft)]  # earliest stays a lower bound

    def split(self, start_ns: int) -> list[tuple[int, float]]:
        """Keeps the samples after `start_ns`, in order; returns the others, in order."""
        if self.earliest > start_ns:
            return []
        kept: deque[tuple[int, float]] = deque()
        gone = []
        for sample in self.samples:  # arrival order is not time order: records of many traces interleave
            (kept if sample[0] > start_ns else gone).append(sample)
        if len(gone) * 8 < len(kept):  # a few: out of the sorted list one by one
            for _, ttft in gone:
                del self.ttfts[bisect_left(self.ttfts, ttft)]
            self.samples = kept
            self.earliest = min((s[0] for s in kept), default=math.inf)
        else:
            self._reset(kept)
        return gone


class TtftSamples:
    __slots__ = ("_window", "_baseline", "window_ns", "baseline_ns", "max_samples", "breached")

    def __init__(self, window_s: float, baseline_s: float, max_samples: int) -> None:
        self._window = _Part()
        self._baseline = _Part()
        self.window_ns = int(window_s * 1e9)
        self.baseline_ns = int(baseline_s * 1e9)
        self.max_samples = max_samples
        self.breached = False

    @property
    def window(self) -> deque[tuple[int, float]]:
        """The window's samples, in arrival order."""
        return self._window.samples

    @property
    def baseline(self) -> deque[tuple[int, float]]:
        return self._baseline.samples

    def add(self, time_ns: int, ttft_s: float) -> None:
        self._window.append((time_ns, ttft_s))
        while len(self._window) + len(self._baseline) > self.max_samples:
            (self._baseline if self._baseline else self._window).popleft()

    def slide(self, now_ns: int) -> None:
        """Moves samples out of the window (into the baseline) and out of the baseline, as of `now_ns`."""
        window_start = now_ns - self.window_ns
        self._baseline.extend(self._window.split(window_start))
        self._baseline.split(window_start - self.baseline_ns)

    def window_p95(self) -> float:
        return p95_of_sorted(self._window.ttfts)

    def baseline_p95(self) -> float | None:
        return p95_of_sorted(self._baseline.ttfts) if self._baseline else None
