"""TtftSamples against the plain definition it replaced (every window walked and sorted on each evaluation): the
same windows, baselines and p95s for any sequence of samples, slides and evictions."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from processor.processors.slo.window import TtftSamples, p95


class Plain:
    """The definition: a sample enters the window; older than the window it moves to the baseline (in the window's
    order), and leaves that after the baseline window; max_samples bounds both, the baseline's oldest first."""

    def __init__(self, window_ns: int, baseline_ns: int, max_samples: int) -> None:
        self.window, self.baseline = deque(), deque()
        self.window_ns, self.baseline_ns, self.max_samples = window_ns, baseline_ns, max_samples

    def add(self, time_ns: int, ttft: float) -> None:
        self.window.append((time_ns, ttft))
        while len(self.window) + len(self.baseline) > self.max_samples:
            (self.baseline or self.window).popleft()

    def slide(self, now_ns: int) -> None:
        start = now_ns - self.window_ns
        self.baseline.extend(s for s in self.window if s[0] <= start)
        self.window = deque(s for s in self.window if s[0] > start)
        self.baseline = deque(s for s in self.baseline if s[0] > start - self.baseline_ns)


steps = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 400), st.floats(0, 30, allow_nan=False)),
    st.tuples(st.just("slide"), st.integers(0, 400)),
    st.tuples(st.just("burst"), st.integers(0, 400), st.integers(1, 40)),  # many at once: a bulk move
), max_size=120)


@settings(max_examples=300, deadline=None)
@given(steps=steps, window=st.integers(1, 100), baseline=st.integers(1, 200), max_samples=st.integers(10, 60))
def test_same_windows_baselines_and_p95s_as_the_plain_definition(steps, window, baseline, max_samples):
    fast = TtftSamples(window / 1e9, baseline / 1e9, max_samples)
    plain = Plain(fast.window_ns, fast.baseline_ns, max_samples)
    now = 0
    for step in steps:
        if step[0] == "add":
            fast.add(step[1], step[2])
            plain.add(step[1], step[2])
        elif step[0] == "burst":
            for i in range(step[2]):
                fast.add(step[1] + i % 7, float(i))
                plain.add(step[1] + i % 7, float(i))
        else:
            now = max(now, step[1])
            fast.slide(now)
            plain.slide(now)
        assert list(fast.window) == list(plain.window) and list(fast.baseline) == list(plain.baseline)
        if plain.window:
            assert fast.window_p95() == p95(s[1] for s in plain.window)
        assert fast.baseline_p95() == (p95(s[1] for s in plain.baseline) if plain.baseline else None)
