"""Where the recorded outputs live: one JSON-lines file per capture, tests/data/golden/<lib>/<scenario>.jsonl (all
of them ~1 MB, so plain text: a re-recording's git diff is the review of what changed), and the seeded loadgen
run's, gzipped (~1.6 MB of generated spans)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from tests.data.realclients import ROOT as CAPTURES
from tests.golden.drive import canonical

GOLDEN = Path(__file__).parents[1] / "data" / "golden"
LOADGEN = GOLDEN / "loadgen" / "mixed-seed7.jsonl.gz"


def golden_path(folder: Path) -> Path:
    return GOLDEN / folder.relative_to(CAPTURES).parent / f"{folder.name}.jsonl"


def write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(canonical(line) + "\n" for line in lines).encode()
    # mtime 0: the same outputs give the same bytes, so re-recording unchanged outputs leaves git nothing to show.
    path.write_bytes(gzip.compress(text, mtime=0) if path.suffix == ".gz" else text)


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode().splitlines()
