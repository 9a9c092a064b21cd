"""Python's cyclic GC in `default` (one worker) under load: how many objects it tracks, of which types, and what
its collections cost.

    python -m bench.gc_census [--workload llm] [--seconds 5] [--rate R] [--top 25]

The server runs with bench/gc_probe on its PYTHONPATH (a `sitecustomize` that times every collection and takes a
census of GC-tracked objects by type on SIGUSR1). After a 2 s warm-up, the workload is sent for --seconds (as fast
as the server answers, or at R requests/s); censuses are taken at its start, half-way and at its end. Printed:
collections per generation during the run (count, total and longest pause), the tracked objects half-way (the
steady state: a trace is held for the stream processor's `wait`, 5 s), and the most common types then, with their
change since the start of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import tempfile
import threading
from pathlib import Path

from bench import kafka_check
from bench.drive import drive
from bench.probe_ask import ask
from bench.targets import Target
from bench.throughput import Workload

PROBE = Path(__file__).parent / "gc_probe"



def report(start: dict, middle: dict, end: dict, top: int) -> str:
    lines = ["generation  collections  total ms  longest ms  (during the run)"]
    for gen in range(3):
        count = end["gc_count"][gen] - start["gc_count"][gen]
        total = end["gc_seconds"][gen] - start["gc_seconds"][gen]
        lines.append(f"{gen:10d}  {count:11d}  {1000 * total:8.1f}  {1000 * end['gc_longest'][gen]:10.1f}")
    lines.append(f"tracked objects: start {start['tracked']}, half-way {middle['tracked']}, end {end['tracked']}")
    before = dict(start["by_type"])
    lines.append("half-way, by type (change since the start):")
    for name, count in middle["by_type"][:top]:
        lines.append(f"  {count:8d}  {count - before.get(name, 0):+8d}  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="llm")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    workload = Workload(args.workload)
    with kafka_check.broker() as broker, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gc_probe.jsonl"
        env = {"GC_PROBE_OUT": str(out), "PYTHONPATH": os.pathsep.join(filter(None, [
            str(PROBE), os.environ.get("PYTHONPATH")]))}
        with Target("default", Path(tmp), brokers=broker.bootstrap, run_id=f"gc{os.getpid()}", env=env) as target:
            pid, serial = target.proc.pid, itertools.count()  # every request with trace ids of its own
            asyncio.run(drive(target.port, workload.fresh, 2, args.concurrency, serial=serial))
            start = ask(pid, out, 0)
            middle: list[dict] = []
            timer = threading.Timer(args.seconds / 2, lambda: middle.append(ask(pid, out, 1)))
            timer.start()
            result = asyncio.run(drive(target.port, workload.fresh, args.seconds, args.concurrency, args.rate,
                                 serial))
            timer.join()
            end = ask(pid, out, 2)
    spans = workload.total(workload.spans, result["by_body"])
    print(f"{args.workload}: {spans / result['elapsed']:.0f} spans/s for {result['elapsed']:.1f} s "
          f"(census pauses included)")
    print(report(start, middle[0], end, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
