"""Event-loop turns seen from inside a server process (bench/turns.py puts this directory on PYTHONPATH).

Imported at interpreter start-up as `sitecustomize`, only where TURN_PROBE_OUT is set. Every callback an asyncio
loop runs (one step of a task, a timer, a posted call) is timed, by the name of the loop's thread, into a histogram
of its length. Within each callback, the functions named in TURN_PROBE_WRAP ("module:Class.method,...") and the
cyclic GC's collections are timed too, so that a long callback says where its time went. SIGUSR2 starts the counts
afresh; SIGUSR1 appends one JSON line to TURN_PROBE_OUT with what was counted since.
"""

import asyncio.events
import gc
import importlib
import json
import os
import signal
import threading
import time

_OUT = os.environ.get("TURN_PROBE_OUT")
#: Upper bounds of the histogram's buckets, ms.
BOUNDS = (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, float("inf"))
#: A callback longer than this is a long turn: what it spent in the wrapped functions and the GC is summed.
_LONG_MS = float(os.environ.get("TURN_PROBE_LONG_MS", "10"))
_KEEP = 15  # the longest callbacks, each with its breakdown


class _Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.histogram: dict[str, list[int]] = {}
        self.busy_ms: dict[str, float] = {}
        self.long_count = 0
        self.long_ms = 0.0
        self.long_parts: dict[str, float] = {}
        self.longest: list[tuple[float, str, dict]] = []
        self.started = time.monotonic()


_stats = _Stats()
_local = threading.local()


def _parts() -> dict | None:
    return getattr(_local, "parts", None)


def _add(name: str, ms: float) -> None:
    parts = _parts()
    if parts is not None:
        parts[name] = parts.get(name, 0.0) + ms


def _describe(handle) -> str:
    callback = handle._callback
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        return f"task {task.get_coro().__qualname__}"
    return getattr(callback, "__qualname__", repr(callback))[:80]


def _install_run() -> None:
    run = asyncio.events.Handle._run

    def timed_run(self) -> None:
        outer = _parts()
        _local.parts = {} if outer is None else outer
        started = time.perf_counter()
        try:
            run(self)
        finally:
            ms = (time.perf_counter() - started) * 1000
            if outer is None:
                parts, _local.parts = _local.parts, None
                _record(threading.current_thread().name, ms, self, parts)

    asyncio.events.Handle._run = timed_run


def _record(thread: str, ms: float, handle, parts: dict) -> None:
    counts = _stats.histogram.setdefault(thread, [0] * len(BOUNDS))
    counts[next(i for i, bound in enumerate(BOUNDS) if ms <= bound)] += 1
    _stats.busy_ms[thread] = _stats.busy_ms.get(thread, 0.0) + ms
    if ms <= _LONG_MS or thread != "MainThread":
        return
    _stats.long_count += 1
    _stats.long_ms += ms
    for name, part in parts.items():
        _stats.long_parts[name] = _stats.long_parts.get(name, 0.0) + part
    longest = _stats.longest
    if len(longest) < _KEEP or ms > longest[-1][0]:
        longest.append((ms, _describe(handle), {k: round(v, 2) for k, v in parts.items()}))
        longest.sort(key=lambda item: -item[0])
        del longest[_KEEP:]


def _gc_callback() -> None:
    started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            _add(f"gc{info['generation']}", (time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(on_gc)


def _wrap(spec: str) -> None:
    module_name, _, path = spec.partition(":")
    owner = importlib.import_module(module_name)
    *outer, name = path.split(".")
    for part in outer:
        owner = getattr(owner, part)
    function = getattr(owner, name)

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _add(path, (time.perf_counter() - started) * 1000)

    setattr(owner, name, timed)


def _dump(_signum: int, _frame: object) -> None:
    line = {"seconds": time.monotonic() - _stats.started, "bounds_ms": [str(b) for b in BOUNDS],
            "histogram": _stats.histogram, "busy_ms": _stats.busy_ms, "long_ms_threshold": _LONG_MS,
            "long_count": _stats.long_count, "long_ms": _stats.long_ms, "long_parts": _stats.long_parts,
            "longest": _stats.longest}
    with open(_OUT, "a") as file:
        file.write(json.dumps(line) + "\n")


def _install() -> None:
    _install_run()
    _gc_callback()
    for spec in filter(None, os.environ.get("TURN_PROBE_WRAP", "").split(",")):
        _wrap(spec.strip())
    signal.signal(signal.SIGUSR1, _dump)
    signal.signal(signal.SIGUSR2, lambda _s, _f: _stats.reset())


if _OUT:
    _install()
