"""The printed table and the machine description."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def table(rows: list[dict]) -> str:
    ceilings = {(r["workload"], r["target"]): r["spans_per_s"] for r in rows if r["target"].startswith("ceiling")}
    ones = {r["workload"]: r["spans_per_s"] for r in rows if r["target"] == "default"}
    head = (f"{'workload':<8} {'target':<15} {'spans/s':>8} {'events/s':>9} {'/decode':>7} {'/walk':>6} {'/1 wkr':>6} "
            f"{'spans/cpu-s':>11} {'ack p50':>8} {'ack p99':>8} {'½rate p99':>9} {'RSS MiB':>7} "
            f"{'broker':>6} {'client':>6}  kafka delivered/sent")
    lines = [head, "-" * len(head)]
    for r in rows:
        decode = ceilings.get((r["workload"], "ceiling-decode"))
        walk = ceilings.get((r["workload"], "ceiling-walk"))
        scale = ones.get(r["workload"]) if r["target"] == "default-x2" else None
        lines.append(f"{r['workload']:<8} {r['target']:<15} {r['spans_per_s']:>8.0f} {r['events_per_s']:>9.0f} "
                     f"{_ratio(r, decode):>7} {_ratio(r, walk):>6} {_ratio(r, scale):>6} "
                     f"{r.get('spans_per_cpu_s', float('nan')):>11.0f} {_ms(r, 'p50_ms'):>8} "
                     f"{_ms(r, 'p99_ms'):>8} {_ms(r, 'half_p99_ms'):>9} {r['peak_rss_mib']:>7.0f} "
                     f"{_cores(r, 'broker_cores'):>6} {_cores(r, 'client_cores'):>6}  {_delivery(r)}")
    lines.append("ack = receipt by the otlp receiver to acknowledgement by Kafka, in ms; ½rate = a run paced at half "
                 "the measured spans/s; RSS = peak, summed over worker processes; /1 wkr = default-x2 / default; "
                 "spans/cpu-s = spans/s over the CPU time the server used (all its processes), steady on a busy host; "
                 "broker, client = cores the embedded broker and the bench's client used in the same run (the "
                 "ceilings have no broker).")
    return "\n".join(lines)


def _ratio(row: dict, base: float | None) -> str:
    return f"{row['spans_per_s'] / base:.2f}" if base else "-"


def _cores(row: dict, key: str) -> str:
    value = row.get(key)
    return "-" if value is None else f"{value:.2f}"


def _ms(row: dict, key: str) -> str:
    value = row.get(key)
    return "-" if value is None else f"{value:.1f}"


def _delivery(row: dict) -> str:
    if "delivered_ok" not in row:
        return "-"
    text = f"spans {row['spans_delivered']}/{row['spans_sent']}"
    if "streams_delivered" in row:
        text += f", streams {row['streams_delivered']}/{row['streams_expected']}"
    else:  # default-otlp: what the otlp backend took, counted by the exporter
        text += " (otlp backend)"
    failures = f", {row['failures']} requests refused" if row.get("failures") else ""
    return text + failures + ("" if row["delivered_ok"] else "  FAILED")


def machine() -> dict:
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform()}
