"""Python's cyclic GC seen from inside a server process (bench/gc_census.py puts this directory on PYTHONPATH).

Imported at interpreter start-up as `sitecustomize`, only where GC_PROBE_OUT is set: a `gc.callbacks` hook counts
and times the collections of each generation, and each SIGUSR1 appends one JSON line to GC_PROBE_OUT with those
totals so far, the number of GC-tracked objects and, by type, the most common of them.
"""

import collections
import gc
import json
import os
import signal
import time

_OUT = os.environ.get("GC_PROBE_OUT")
_TOP = 40


class _Collections:
    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        generation = info["generation"]
        self.count[generation] += 1
        self.seconds[generation] += took
        self.longest[generation] = max(self.longest[generation], took)


def _census(stats: _Collections) -> dict:
    objects = gc.get_objects()
    by_type = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
    line = {"time": time.monotonic(), "tracked": len(objects), "gc_count": list(stats.count),
            "gc_seconds": list(stats.seconds), "gc_longest": list(stats.longest),
            "by_type": by_type.most_common(_TOP)}
    del objects
    return line


def _install(out: str) -> None:
    stats = _Collections()
    gc.callbacks.append(stats)

    def on_signal(_signum: int, _frame: object) -> None:
        line = _census(stats)
        with open(out, "a") as file:
            file.write(json.dumps(line) + "\n")

    signal.signal(signal.SIGUSR1, on_signal)


if _OUT:
    _install(_OUT)
