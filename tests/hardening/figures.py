"""What the fuzzers sent and saw, per family and transport, and the process's RSS around each family."""

from __future__ import annotations

import gc
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FIGURES_PATH = ARTIFACTS / "fuzz-figures.json"
MIB = 1 << 20


def rss_bytes(*, collect: bool = True) -> int:
    """Resident set size of this process (receiver and fuzzer both live in it), by default after a full collection."""
    if collect:
        gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Family:
    payloads: int = 0
    statuses: Counter = field(default_factory=Counter)
    rss_before: int = 0
    rss_peak: int = 0
    rss_after: int = 0

    def count(self, status: int | str) -> None:
        self.payloads += 1
        self.statuses[str(status)] += 1

    def as_dict(self) -> dict:
        figures = {"payloads": self.payloads, "statuses": dict(sorted(self.statuses.items()))}
        if self.rss_before:  # the config fuzzers start no receiver, so they have no RSS to report
            figures.update(rss_before_mib=round(self.rss_before / MIB, 1), rss_peak_mib=round(self.rss_peak / MIB, 1),
                           rss_after_mib=round(self.rss_after / MIB, 1))
        return figures


@dataclass
class Figures:
    profile: str
    families: dict[str, Family] = field(default_factory=dict)

    def family(self, name: str) -> Family:
        return self.families.setdefault(name, Family())

    def as_dict(self) -> dict:
        return {"profile": self.profile, "total_payloads": sum(f.payloads for f in self.families.values()),
                "families": {name: f.as_dict() for name, f in sorted(self.families.items())}}

    def write(self, path: Path = FIGURES_PATH) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path

    def table(self) -> list[str]:
        lines = [f"fuzz figures ({self.profile}): {self.as_dict()['total_payloads']} payloads -> {FIGURES_PATH}"]
        for name, f in sorted(self.families.items()):
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(f.statuses.items()))
            rss = (f"  RSS {f.rss_before / MIB:.0f} -> peak {f.rss_peak / MIB:.0f} -> {f.rss_after / MIB:.0f} MiB"
                   if f.rss_before else "")
            lines.append(f"  {name:<34} {f.payloads:>6} sent  [{statuses}]{rss}")
        return lines
