"""Where the recorded outputs live: one JSON-lines file per capture, tests/data/golden/<lib>/<scenario>.jsonl (all
of them ~1 MB, so plain text: a re-recording's git diff is the review of what changed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.data.realclients import ROOT as CAPTURES
from tests.golden.drive import canonical

GOLDEN = Path(__file__).parents[1] / "data" / "golden"


def golden_path(folder: Path) -> Path:
    return GOLDEN / folder.relative_to(CAPTURES).parent / f"{folder.name}.jsonl"


def write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(canonical(line) + "\n" for line in lines))


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()
