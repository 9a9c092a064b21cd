"""Stream metrics across worker processes: each worker publishes its aggregates, the scrape sums them.

Why not prometheus_client's multiprocess files, as the self-telemetry does: those keep one mmap value per
sample forever, with no cardinality cap and no removal of idle series, and each observation would become a
write into a shared file. Instead a worker keeps aggregating in memory exactly as with one process (no
per-stream cost added) and writes a JSON snapshot of its aggregates, atomically, at most once every
PUBLISH_INTERVAL_S and only when something changed, and once more at shutdown. The serving side (the
supervisor) reads every worker's snapshot at scrape time and sums them series by series.

- A scrape may lag a worker by up to PUBLISH_INTERVAL_S; Prometheus scrapes far less often.
- A dead worker's last snapshot is kept, so a restart does not make the summed counters go down; its series
  expire like any other, `metric_expiration` after their last update, and then the file is removed.
- The cardinality limit applies again to the sum: label sets beyond it (each worker keeps up to the limit)
  are folded into the `__overflow__` series; each worker counts its own folds in the overflow counter.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from processor.exporters.prometheus.metrics import StreamMetrics

PUBLISH_INTERVAL_S = 1.0


def to_snapshot(metrics: StreamMetrics, *, wall: float | None = None) -> dict:
    """The aggregates of `metrics`, with each series' last update as wall-clock time."""
    wall = time.time() if wall is None else wall
    offset = wall - metrics.clock()
    families = {}
    for family in metrics.families():
        families[family.name] = [[list(key), series.updated + offset, family.value_of(series)]
                                 for key, series in family.items()]
    return {"written": wall, "families": families}


def merge_into(metrics: StreamMetrics, snapshots: Iterable[dict], *, wall: float | None = None) -> None:
    """Add every snapshot's series that has not expired (by wall-clock time) to `metrics`."""
    wall = time.time() if wall is None else wall
    now = metrics.clock()
    by_name = {family.name: family for family in metrics.families()}
    for snapshot in snapshots:
        for name, rows in snapshot["families"].items():
            family = by_name.get(name)
            if family is None:  # written under another namespace: not this exporter's
                continue
            cutoff = wall - family.ttl
            for key, updated, value in rows:
                if updated >= cutoff:
                    family.merge(tuple(key), value, now)


def publish(metrics: StreamMetrics, directory: Path, name: str) -> None:
    """Write the snapshot as `directory/name.json`, atomically: a reader sees the old or the new one whole."""
    directory.mkdir(parents=True, exist_ok=True)
    data = json.dumps(to_snapshot(metrics), separators=(",", ":")).encode()
    temporary = directory / f".{name}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, directory / f"{name}.json")


def read_snapshots(directory: Path, ttl: float, *, wall: float | None = None) -> Iterator[dict]:
    """Every snapshot in `directory`; one written longer than `ttl` ago holds only expired series: removed."""
    wall = time.time() if wall is None else wall
    for path in sorted(directory.glob("*.json")):
        try:
            snapshot = json.loads(path.read_bytes())
        except (OSError, ValueError):  # replaced or removed under us: the next scrape reads it
            continue
        if snapshot["written"] < wall - ttl:
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        yield snapshot
