"""Each scenario's figures: printed always, and kept for docs/reliability.md when `make reliability` runs.

TOKENSTREAM_RELIABILITY=full selects the full-size scenarios' rows to be kept (in test-artifacts/); `python -m
tests.reliability.report` then writes the table.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS_PATH = ROOT / "test-artifacts" / "reliability-rows.jsonl"
FULL = os.environ.get("TOKENSTREAM_RELIABILITY", "") == "full"


@dataclass
class Row:
    scenario: str
    parameters: str
    lost: int | None = None
    duplicated: int | None = None
    refused: int | None = None
    peak_rss_mib: float | None = None
    recovery_s: float | None = None
    #: Anything else measured, e.g. {"series": 1001, "overflowed": 98000}
    other: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        figures = [f"{name}={value}" for name, value in asdict(self).items()
                   if name not in ("scenario", "parameters", "other") and value is not None]
        figures += [f"{name}={value}" for name, value in self.other.items()]
        return f"[reliability] {self.scenario} ({self.parameters}): {', '.join(figures)}"


def record(row: Row, *, full_size: bool) -> None:
    """Print the row; keep it for the published table when this is a full-size run under `make reliability`."""
    print("\n" + row.line(), flush=True)
    if full_size and FULL:
        ROWS_PATH.parent.mkdir(parents=True, exist_ok=True)
        with ROWS_PATH.open("a") as rows:
            rows.write(json.dumps(asdict(row)) + "\n")


def load_rows(path: Path = ROWS_PATH) -> list[Row]:
    """The kept rows, the latest for each scenario (a scenario run again replaces its row)."""
    if not path.exists():
        return []
    latest: dict[str, Row] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = Row(**json.loads(line))
            latest[row.scenario] = row
    return list(latest.values())
