"""Spans/s through tokenstream against ceilings measured in the same run, with the same client and payloads.

    python -m bench.throughput [--seconds 10] [--workloads llm,plain] [--targets ceiling-decode,ceiling-walk,file]

Ceilings (bench/ceiling_server.py): `ceiling-decode`, a bare grpcio TraceService that only decodes;
`ceiling-walk`, which also touches every span event. Pipelines: `file` is otlp -> batch -> file.
The table is printed and saved as JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from bench import payloads
from processor.testing.process import TokenstreamProcess, free_port

_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
RESULTS = Path(__file__).parent / "results"


def pipeline_config(target: str, port: int, health: int, workdir: Path) -> dict:
    receivers = {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{port}"}}}}
    if target == "file":
        exporters = {"file": {"path": str(workdir / "spans.jsonl")}}
        processors = {"batch": {}}
    else:
        raise ValueError(f"unknown pipeline target {target!r}")
    return {"receivers": receivers, "processors": processors, "exporters": exporters,
            "extensions": {"health_check": {"endpoint": f"127.0.0.1:{health}"}},
            "service": {"extensions": ["health_check"], "telemetry": {"metrics": {"level": "none"}},
                        "pipelines": {"traces": {"receivers": ["otlp"], "processors": list(processors),
                                                 "exporters": list(exporters)}}}}


class Target:
    """A server under test in its own process, on a free loopback port."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.workdir = workdir
        self._proc: subprocess.Popen | None = None
        self._tokenstream: TokenstreamProcess | None = None

    def __enter__(self) -> Target:
        if self.name.startswith("ceiling-"):
            mode = self.name.removeprefix("ceiling-")
            self._proc = subprocess.Popen([sys.executable, "-m", "bench.ceiling_server", "--port", str(self.port),
                                           "--mode", mode])
            _wait_for_grpc(self.port)
        else:
            health = free_port()
            config = pipeline_config(self.name, self.port, health, self.workdir)
            self._tokenstream = TokenstreamProcess(config, self.workdir, health_port=health).start()
            self._proc = self._tokenstream.proc
        return self

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self._proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def __exit__(self, *exc) -> None:
        if self._tokenstream is not None:
            code = self._tokenstream.stop()
            if code != 0:
                print(f"warning: tokenstream exited {code}:\n{self._tokenstream.logs()[-2000:]}", file=sys.stderr)
        elif self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)


def _wait_for_grpc(port: int, timeout: float = 15.0) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=timeout)
    channel.close()


async def drive(port: int, bodies: list[bytes], seconds: float, concurrency: int) -> dict:
    """Send pre-encoded requests as fast as the server answers; returns counts and latencies."""
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 * 2**20)])
    export = channel.unary_unary(_EXPORT, request_serializer=None, response_deserializer=None)
    latencies: list[float] = []
    failures = 0
    stop_at = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal failures
        index = offset
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                await export(bodies[index % len(bodies)], timeout=30)
                latencies.append(time.perf_counter() - started)
            except grpc.aio.AioRpcError:
                failures += 1
            index += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    await channel.close()
    return {"requests": len(latencies), "failures": failures, "latencies": sorted(latencies)}


def measure(target_name: str, workload: str, bodies: list[bytes], seconds: float, concurrency: int) -> dict:
    spans, events = payloads.counts(bodies[0])
    with tempfile.TemporaryDirectory() as tmp, Target(target_name, Path(tmp)) as target:
        asyncio.run(drive(target.port, bodies, min(1.0, seconds / 5), concurrency))  # warm up
        started = time.perf_counter()
        result = asyncio.run(drive(target.port, bodies, seconds, concurrency))
        elapsed = time.perf_counter() - started
        rss = target.peak_rss_mib()
    lat = result["latencies"] or [float("nan")]
    return {"target": target_name, "workload": workload, "spans_per_s": result["requests"] * spans / elapsed,
            "events_per_s": result["requests"] * events / elapsed, "requests": result["requests"],
            "failures": result["failures"], "p50_ms": lat[len(lat) // 2] * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, "peak_rss_mib": rss}


def table(rows: list[dict]) -> str:
    ceilings = {(r["workload"], r["target"]): r["spans_per_s"] for r in rows if r["target"].startswith("ceiling")}
    lines = [f"{'workload':<8} {'target':<15} {'spans/s':>10} {'events/s':>11} {'/decode':>8} {'/walk':>7} "
             f"{'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8} {'failed':>6}"]
    for r in rows:
        decode = ceilings.get((r["workload"], "ceiling-decode"))
        walk = ceilings.get((r["workload"], "ceiling-walk"))
        lines.append(f"{r['workload']:<8} {r['target']:<15} {r['spans_per_s']:>10.0f} {r['events_per_s']:>11.0f} "
                     f"{_ratio(r, decode):>8} {_ratio(r, walk):>7} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} "
                     f"{r['peak_rss_mib']:>8.0f} {r['failures']:>6}")
    return "\n".join(lines)


def _ratio(row: dict, ceiling: float | None) -> str:
    return f"{row['spans_per_s'] / ceiling:.2f}" if ceiling else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workloads", default="llm,plain")
    parser.add_argument("--targets", default="ceiling-decode,ceiling-walk,file")
    parser.add_argument("--out", default=str(RESULTS / "throughput.json"))
    args = parser.parse_args(argv)
    rows = []
    for workload in args.workloads.split(","):
        bodies = payloads.build(workload)
        for target in args.targets.split(","):
            rows.append(measure(target, workload, bodies, args.seconds, args.concurrency))
            print(f"  measured {workload}/{target}: {rows[-1]['spans_per_s']:.0f} spans/s", file=sys.stderr)
    print(table(rows))
    machine = {"cpus": _cpus(), "python": platform.python_version(), "platform": platform.platform()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": machine, "seconds": args.seconds,
                                          "concurrency": args.concurrency, "rows": rows}, indent=2))
    return 0


def _cpus() -> str:
    """`2 x <model name>`, for the README's Performance section."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    return f"{os.cpu_count()} x {model}"


if __name__ == "__main__":
    raise SystemExit(main())
