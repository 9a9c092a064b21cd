"""How much memory the process uses, and how much it may use."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import sys
from pathlib import Path

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _open_statm() -> int | None:
    try:
        return os.open("/proc/self/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


#: Kept open and read with pread: the limiter reads it after every request, and opening the file each time cost
#: 5% of the pipeline's CPU on ordinary spans (py-spy, bench.profile --workload plain).
_STATM = _open_statm()
_STATM_PID = os.getpid()


def resident_bytes() -> int:
    """Current resident set size, from /proc/self/statm; elsewhere the peak RSS is the best available."""
    global _STATM, _STATM_PID
    try:
        if os.getpid() != _STATM_PID:  # a forked worker: /proc/self opened by the parent names the parent
            _STATM, _STATM_PID = _open_statm(), os.getpid()
        if _STATM is None:
            raise OSError("no /proc/self/statm")
        fields = os.pread(_STATM, 128, 0).split()
        return int(fields[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, Linux KiB


def total_memory_bytes() -> int:
    """The cgroup's memory limit when the process runs under one (containers), else physical memory."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        # cgroup v2 says "max" and v1 a huge number when there is no limit
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _malloc_trim():
    name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None  # glibc's; musl and macOS have none


_MALLOC_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Hands the C heap's free pages back to the system (glibc's malloc_trim), so that RSS shows what Python freed.
    Without it and a garbage collection, RSS stayed over the soft limit for 46 s after the 60 s overload scenario,
    with nothing held, until the SDK exporter's retries ran out. ctypes lets go of the GIL during the call."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
