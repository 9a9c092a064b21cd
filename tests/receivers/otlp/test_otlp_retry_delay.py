"""Refused clients are asked to wait as long as the overload has lasted, so the SDK's 6 tries span it."""

from __future__ import annotations

from processor.receivers.otlp.retry_delay import MAX_RETRY_DELAY_S, RetryDelay


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_delay_grows_with_the_overload_and_starts_over_after_a_quiet_spell():
    clock = Clock()
    delay = RetryDelay(clock)
    asked = []
    for _ in range(8):  # refusals every half second for 3.5 s
        asked.append(delay.next(1.0))
        clock.now += 0.5
    assert asked == [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    clock.now += 5.0  # nothing refused for 5 s: that overload is over
    assert delay.next(1.0) == 1.0


def test_the_refusing_components_own_delay_is_a_floor_and_the_growth_has_a_ceiling():
    clock = Clock()
    delay = RetryDelay(clock)
    assert delay.next(2.5) == 2.5
    for _ in range(200):
        clock.now += 1.0
        last = delay.next(1.0)
    assert last == MAX_RETRY_DELAY_S
    assert delay.next(45.0) == 45.0
