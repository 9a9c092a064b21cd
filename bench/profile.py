"""py-spy on `default` (one worker) under load: the profile the optimisations start from.

    python -m bench.profile [--workload llm] [--seconds 10] [--out bench/results/profile-llm.txt]

Writes py-spy's raw (collapsed stacks) output and prints the functions with the most samples, by own time and
by total time.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench import kafka_check
from bench.drive import drive
from bench.targets import Target
from bench.throughput import RESULTS, Workload

PY_SPY = Path(sys.executable).parent / "py-spy"


def top(raw: Path, count: int = 25) -> str:
    own: collections.Counter = collections.Counter()
    total: collections.Counter = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")" if " (" in f else f
                  for f in stack.split(";")]
        samples += int(n)
        own[frames[-1]] += int(n)
        for frame in set(frames):
            total[frame] += int(n)
    lines = [f"{samples} samples", "own time:"]
    lines += [f"  {100 * n / samples:5.1f}%  {frame}" for frame, n in own.most_common(count)]
    lines += ["total time:"]
    lines += [f"  {100 * n / samples:5.1f}%  {frame}" for frame, n in total.most_common(count)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="llm")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    out = Path(args.out or RESULTS / f"profile-{args.workload}.txt")
    workload = Workload(args.workload)
    with kafka_check.broker() as broker, tempfile.TemporaryDirectory() as tmp, \
            Target("default", Path(tmp), brokers=broker.bootstrap, run_id="profile") as target:
        asyncio.run(drive(target.port, workload.fresh, 2, args.concurrency))
        spy = threading.Thread(target=subprocess.run, args=([str(PY_SPY), "record", "-p", str(target.proc.pid), "-f",
                                                            "raw", "-o", str(out), "-d", str(int(args.seconds)),
                                                            "-r", "200"],), kwargs={"check": True})
        spy.start()
        asyncio.run(drive(target.port, workload.fresh, args.seconds + 2, args.concurrency))
        spy.join()
    print(top(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
