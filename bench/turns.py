"""How long the pipeline loop's turns are in `default` (one worker) under paced load, and where long turns go.

    python -m bench.turns [--workload llm] [--seconds 20] [--rate R] [--wrap module:Class.method,...]

The server runs with bench/turn_probe on its PYTHONPATH (a `sitecustomize` that times every callback of every
asyncio loop, and within them the GC's collections and the functions `--wrap` names). After a warm-up of the
stream processor's `wait` and a little more (so that held calls are being finalized, as in a steady state), the
counts start afresh and the workload is sent at R requests/s (default: 30, about half of what `default` takes on a
2-core host) for --seconds. Printed: receipt-to-ack p50/p99 of the run, the histogram of callback lengths for each
loop thread, and for callbacks over 10 ms their total and its share in each wrapped function and GC generation
(inclusive times: a wrapped function called by another is counted in both), then the longest callbacks.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import tempfile
from pathlib import Path

from bench import kafka_check, latency
from bench.drive import drive
from bench.probe_ask import ask
from bench.targets import Target
from bench.throughput import Workload, cpu_seconds

PROBE = Path(__file__).parent / "turn_probe"
WRAP = ",".join((
    "processor.processors.stream.processor:StreamProcessor._read_spans",
    "processor.processors.stream.processor:StreamProcessor._attach",
    "processor.processors.stream.derive:Derivations.at_receipt",
    "processor.processors.stream.derive:Derivations.final",
    "processor.processors.stream.content:ContentCheck.check",
    "processor.stream.store:TraceStore.pop_expired",
    "processor.stream.work:TraceState.streamed_calls",
    "processor.processors.redaction.processor:RedactionProcessor.redact_trace_bytes",
    "processor.model.batch:Batch.index",
))



def report(found: dict) -> str:
    lines = [f"callbacks by length over {found['seconds']:.1f} s (ms: count)"]
    for thread, counts in found["histogram"].items():
        cells = "  ".join(f"<={b}:{n}" for b, n in zip(found["bounds_ms"], counts, strict=True) if n)
        lines.append(f"  {thread:14s} busy {found['busy_ms'][thread] / 1000 / found['seconds']:5.1%}  {cells}")
    long_ms = found["long_ms"]
    lines.append(f"MainThread callbacks over {found['long_ms_threshold']} ms: {found['long_count']}, "
                 f"{long_ms:.0f} ms in all; of which (inclusive):")
    for name, ms in sorted(found["long_parts"].items(), key=lambda item: -item[1]):
        lines.append(f"  {ms / long_ms if long_ms else 0:6.1%}  {ms:8.0f} ms  {name}")
    lines.append("longest:")
    for ms, what, parts in found["longest"]:
        top = ", ".join(f"{k.rsplit('.', 1)[-1]} {v}" for k, v in sorted(parts.items(), key=lambda i: -i[1])[:5])
        lines.append(f"  {ms:6.1f} ms  {what}: {top}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="llm")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--wrap", default=WRAP)
    args = parser.parse_args(argv)
    workload = Workload(args.workload)
    with kafka_check.broker() as broker, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "turn_probe.jsonl"
        env = {"TURN_PROBE_OUT": str(out), "TURN_PROBE_WRAP": args.wrap, "PYTHONPATH": os.pathsep.join(filter(None, [
            str(PROBE), os.environ.get("PYTHONPATH")]))}
        with Target("default", Path(tmp), brokers=broker.bootstrap, run_id=f"turns{os.getpid()}", env=env) as target:
            pid, serial = target.proc.pid, itertools.count()
            asyncio.run(drive(target.port, workload.fresh, 7, args.concurrency, args.rate, serial))
            os.kill(pid, signal.SIGUSR2)
            before, cpu = latency.scrape(target.telemetry_port), cpu_seconds([pid])
            result = asyncio.run(drive(target.port, workload.fresh, args.seconds, args.concurrency, args.rate,
                                       serial))
            after, cpu = latency.scrape(target.telemetry_port), cpu_seconds([pid]) - cpu
            found = ask(pid, out, 0)
    spans = workload.total(workload.spans, result["by_body"])
    print(f"{args.workload}: {result['acked'] / result['elapsed']:.1f} requests/s, {spans / cpu:.0f} spans/cpu-s "
          f"(probe included), receipt-to-ack p50 {latency.quantile(0.5, before, after):.1f} ms, "
          f"p99 {latency.quantile(0.99, before, after):.1f} ms")
    print(report(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
