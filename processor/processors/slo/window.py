"""TTFT samples of one route and model, by the records' own end times: the evaluation window and the baseline.

A sample enters the window; once older than the window it moves to the baseline, and leaves that after the
baseline window. Both are bounded together by `max_samples` (the oldest go first).
"""

from __future__ import annotations

import math
from collections import deque


def p95(values) -> float:
    """Nearest-rank 95th percentile of a non-empty collection."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


class TtftSamples:
    __slots__ = ("window", "baseline", "window_ns", "baseline_ns", "max_samples", "breached")

    def __init__(self, window_s: float, baseline_s: float, max_samples: int) -> None:
        self.window: deque[tuple[int, float]] = deque()  # (end time ns, ttft s), in arrival order
        self.baseline: deque[tuple[int, float]] = deque()
        self.window_ns = int(window_s * 1e9)
        self.baseline_ns = int(baseline_s * 1e9)
        self.max_samples = max_samples
        self.breached = False

    def add(self, time_ns: int, ttft_s: float) -> None:
        self.window.append((time_ns, ttft_s))
        while len(self.window) + len(self.baseline) > self.max_samples:
            (self.baseline or self.window).popleft()

    def slide(self, now_ns: int) -> None:
        """Moves samples out of the window (into the baseline) and out of the baseline, as of `now_ns`."""
        window_start = now_ns - self.window_ns
        kept = deque()
        for sample in self.window:  # arrival order is not time order: records of many traces interleave
            (kept if sample[0] > window_start else self.baseline).append(sample)
        self.window = kept
        baseline_start = window_start - self.baseline_ns
        self.baseline = deque(s for s in self.baseline if s[0] > baseline_start)

    def window_p95(self) -> float:
        return p95(s[1] for s in self.window)

    def baseline_p95(self) -> float | None:
        return p95(s[1] for s in self.baseline) if self.baseline else None
