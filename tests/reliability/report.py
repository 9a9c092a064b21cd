"""Writes docs/reliability.md from the rows the full-size scenarios kept: `python -m tests.reliability.report`."""

from __future__ import annotations

import datetime
import os
import platform
import sys

from tests.reliability.figures import ROOT, Row, load_rows

DOC_PATH = ROOT / "docs" / "reliability.md"
_INTRO = """# Reliability figures

Measured by `make reliability`, which runs the full-size scenarios in `tests/reliability/` (marked `slow`) against
`tokenstream run` as a real process on the default pipeline's processing, exporting to a Kafka-protocol broker
(the embedded Tansu). `make test` runs smaller versions of the same scenarios. Re-run it to get your own figures:
they depend on the machine. "Lost" counts records the receiver acknowledged that never reached the sink;
"duplicated" counts extra copies at the sink; "refused" counts spans answered with anything but OK (the
"answers" figures say which: UNAVAILABLE with a retry delay is the expected one; while the process is down
after kill -9, the client's own gRPC channel answers UNAVAILABLE without a delay, as no server is listening);
"recovery" is the time from the end of the fault (or of the load) until the sink held every acknowledged span.
"""
_COLUMNS = ("scenario", "parameters", "lost", "duplicated", "refused", "peak RSS (MiB)", "recovery (s)", "other")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value).replace("|", "\\|")


def render(rows: list[Row]) -> str:
    lines = [_INTRO, f"Run {datetime.date.today().isoformat()} on {platform.system()} {platform.machine()}, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}.", "",
             "| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for row in rows:
        other = "; ".join(f"{name}: {_cell(value)}" for name, value in row.other.items())
        cells = (row.scenario, row.parameters, row.lost, row.duplicated, row.refused, row.peak_rss_mib,
                 row.recovery_s, other or None)
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    rows = load_rows()
    if not rows:
        print("no rows: run the full-size scenarios with TOKENSTREAM_RELIABILITY=full first", file=sys.stderr)
        return 1
    DOC_PATH.write_text(render(rows))
    print(f"wrote {DOC_PATH.relative_to(ROOT)} ({len(rows)} scenarios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
