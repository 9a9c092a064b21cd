"""Asking a probe inside the server (bench/gc_probe, bench/turn_probe: a sitecustomize that answers SIGUSR1 with
one JSON line appended to its output file) for its next answer."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path


def ask(pid: int, out: Path, answered: int, timeout: float = 60.0) -> dict:
    """Signals the probe of `pid` and returns its answer: the line after the `answered` ones already in `out`."""
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = out.read_text().splitlines() if out.exists() else []
        if len(written) > answered:
            return json.loads(written[answered])
        time.sleep(0.05)
    raise TimeoutError(f"the probe of process {pid} wrote nothing to {out} within {timeout:g}s")
