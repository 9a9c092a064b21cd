"""The retry delay a refused client is asked to wait: longer the longer refusals have gone on.

A client told "1 s" all through a minute-long overload spends its retries in the first seconds and gives up (the
OpenTelemetry SDK exporters try 6 times). Asking for as long as the overload has lasted so far spreads a client's
retries over the overload, so its data gets through when the overload ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Refusals this far apart belong to one overload.
_SAME_OVERLOAD_S = 2.0
#: The most a client is asked to wait, the Collector's own exporter retry ceiling.
MAX_RETRY_DELAY_S = 30.0


class RetryDelay:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._since: float | None = None
        self._last = float("-inf")
        self._lock = threading.Lock()

    def next(self, floor: float) -> float:
        """The delay for a refusal now: at least `floor` (what the refusing component asked for), else the whole
        seconds the overload has lasted, at most MAX_RETRY_DELAY_S."""
        with self._lock:  # refusals come from the gRPC thread and the pipeline's
            now = self.clock()
            if self._since is None or now - self._last > _SAME_OVERLOAD_S:
                self._since = now
            self._last = now
            return max(floor, min(MAX_RETRY_DELAY_S, float(int(now - self._since))))
