"""Spans/s through tokenstream against ceilings measured in the same run, with the same client and payloads.

    python -m bench.throughput [--seconds 10] [--workloads llm,mixed,plain]
                               [--targets ceiling-decode,ceiling-walk,default,default-x2] [--soak 300]

Targets (bench/targets.py): `ceiling-decode` (a bare grpcio TraceService that only decodes), `ceiling-walk` (it
also touches every span event), `default` (pipelines/default.yaml's processing into Kafka and Prometheus),
`default-x2` (the same with two worker processes), `default-otlp` (the same processing into the otlp exporter
and a bare OTLP backend instead of Kafka), `file` (otlp -> batch -> file).
For each pipeline target: receipt-to-Kafka-ack p50/p99 at full speed, then p99 in a run paced at half the
measured rate (after HALF_RATE_SETTLE_S at that rate, unmeasured); afterwards every record is read back from Kafka
and checked against what the client had acknowledged: fewer delivered than sent is a FAILED run (exit status 1).
The table is printed and saved as JSON in bench/results/. `--soak S` instead runs `default` for S seconds at half
its maximum rate and samples RSS every 10 s. `--set KEY=VALUE` changes a value of the default pipeline (as
`tokenstream run --set`); `--rate R` paces the main run at R requests/s (for comparing CPU per span).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench import kafka_check, latency, payloads
from bench.drive import drive
from bench.report import machine, table
from bench.targets import Target

RESULTS = Path(__file__).parent / "results"


class Workload:
    def __init__(self, name: str) -> None:
        self.name = name
        self.bodies = payloads.build(name)
        self.fresh = payloads.Fresh(self.bodies)
        self.spans = [payloads.counts(b)[0] for b in self.bodies]
        self.events = [payloads.counts(b)[1] for b in self.bodies]
        self.llm = [payloads.llm_spans(b) for b in self.bodies]

    def total(self, per_body: list[int], by_body: list[int]) -> int:
        return sum(n * k for n, k in zip(per_body, by_body, strict=True))


def rss_mib(pids: list[int], field: str = "VmHWM:") -> float:
    """Summed over the processes: VmHWM (peak) or VmRSS (now)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes so far: spans per CPU-second holds up on a busy machine."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


#: The default pipeline's stream `wait` (5 s), and time to finish what it released.
HALF_RATE_SETTLE_S = 8.0


def measure(target_name: str, workload: Workload, args, broker: kafka_check.Broker, run_id: str) -> dict:
    sent = [0] * len(workload.bodies)
    serial = itertools.count()
    row: dict = {"target": target_name, "workload": workload.name}
    pipeline = not target_name.startswith("ceiling")
    with tempfile.TemporaryDirectory() as tmp:
        target = Target(target_name, Path(tmp), brokers=broker.bootstrap, run_id=run_id, overrides=args.overrides)
        with target:
            warmup = min(2.0, args.seconds / 5)
            _add(sent, asyncio.run(drive(target.port, workload.fresh, warmup, args.concurrency, serial=serial)))
            before = latency.scrape(target.telemetry_port) if pipeline else {}
            cpu_before, shared_before = cpu_seconds(target.pids()), _shared_cpu(broker)
            full = asyncio.run(drive(target.port, workload.fresh, args.seconds, args.concurrency, args.rate, serial))
            cpu = cpu_seconds(target.pids()) - cpu_before
            broker_cpu, client_cpu = (after - before for after, before in zip(_shared_cpu(broker), shared_before,
                                                                             strict=True))
            _add(sent, full)
            # What else used the cores in the run: the ratios to the ceilings are of spans/s, and the ceilings have
            # no broker.
            row.update(_rates(workload, full), failures=full["failures"], cpu_s=cpu,
                       broker_cores=broker_cpu / full["elapsed"], client_cores=client_cpu / full["elapsed"])
            row["spans_per_cpu_s"] = row["spans_per_s"] * full["elapsed"] / cpu if cpu else float("nan")
            if pipeline:
                after = latency.scrape(target.telemetry_port)
                row.update(p50_ms=latency.quantile(0.5, before, after), p99_ms=latency.quantile(0.99, before, after))
                rate = full["acked"] / full["elapsed"] / 2
                # Paced, unmeasured, until the full-speed run's held traces have had their final records made (the
                # stream processor makes them `wait` after their last span): measured at once, the half-rate run
                # carried that run's finals too, more than half the load.
                _add(sent, asyncio.run(drive(target.port, workload.fresh, HALF_RATE_SETTLE_S, args.concurrency, rate,
                                             serial)))
                before = latency.scrape(target.telemetry_port)
                half = asyncio.run(drive(target.port, workload.fresh, args.seconds, args.concurrency, rate,
                                         serial))
                _add(sent, half)
                after = latency.scrape(target.telemetry_port)
                row.update(half_rate_spans_per_s=_rates(workload, half)["spans_per_s"],
                           half_p50_ms=latency.quantile(0.5, before, after),
                           half_p99_ms=latency.quantile(0.99, before, after),
                           failures=row["failures"] + half["failures"])
            row["peak_rss_mib"] = rss_mib(target.pids())
            if target.name == "default-otlp":  # the backend's acknowledgements, as the exporter counted them
                row.update(_check_otlp_delivery(workload, sent, target.telemetry_port))
        if pipeline and target.topics:
            row.update(_check_delivery(workload, sent, broker.bootstrap, target.topics))
    return row


def _shared_cpu(broker: kafka_check.Broker) -> tuple[float, float]:
    """CPU seconds so far of the embedded broker and of this process (the client)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return cpu_seconds(list(broker.pids)), usage.ru_utime + usage.ru_stime


def _add(sent: list[int], result: dict) -> None:
    for index, count in enumerate(result["by_body"]):
        sent[index] += count


def _rates(workload: Workload, result: dict) -> dict:
    spans = workload.total(workload.spans, result["by_body"])
    events = workload.total(workload.events, result["by_body"])
    return {"spans_per_s": spans / result["elapsed"], "events_per_s": events / result["elapsed"],
            "requests": result["acked"]}


def _check_delivery(workload: Workload, sent: list[int], brokers: str, topics: dict) -> dict:
    got = kafka_check.delivered(brokers, {"spans": topics["spans"], "streams": topics["streams"]})
    spans_sent, streams_sent = workload.total(workload.spans, sent), workload.total(workload.llm, sent)
    ok = got["spans"] >= spans_sent and got["streams"] >= streams_sent
    return {"spans_sent": spans_sent, "spans_delivered": got["spans"], "streams_expected": streams_sent,
            "streams_delivered": got["streams"], "delivered_ok": ok}


def _check_otlp_delivery(workload: Workload, sent: list[int], telemetry_port: int) -> dict:
    """Spans the otlp exporter counted as taken by the backend; read before the target stops, so at least what
    the client had acknowledged by then (the exporter answers the receiver only after the backend answered it)."""
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families

    with urlopen(f"http://127.0.0.1:{telemetry_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    delivered = sum(sample.value for family in text_string_to_metric_families(text)
                    if family.name == "tokenstream_exporter_sent_records" for sample in family.samples
                    if sample.name.endswith("_total") and sample.labels == {"exporter": "otlp", "kind": "spans"})
    spans_sent = workload.total(workload.spans, sent)
    return {"spans_sent": spans_sent, "spans_delivered": int(delivered), "delivered_ok": delivered >= spans_sent}


def soak(args, broker: kafka_check.Broker) -> dict:
    """`default`, llm workload, at half the maximum rate for args.soak seconds; RSS sampled every 10 s."""
    workload = Workload("llm")
    sent = [0] * len(workload.bodies)
    serial = itertools.count()
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, Target("default", Path(tmp), brokers=broker.bootstrap, run_id="soak",
                                                       overrides=args.overrides) as target:
        probe = asyncio.run(drive(target.port, workload.fresh, 10, args.concurrency, serial=serial))
        _add(sent, probe)
        rate = probe["acked"] / probe["elapsed"] / 2

        async def run() -> dict:
            task = asyncio.create_task(drive(target.port, workload.fresh, args.soak, args.concurrency, rate, serial))
            started = time.perf_counter()
            while not task.done():
                samples.append((time.perf_counter() - started, rss_mib(target.pids(), "VmRSS:")))
                await asyncio.wait([task], timeout=10)
            return task.result()

        _add(sent, asyncio.run(run()))
    rss = [mib for _, mib in samples]
    result = {"seconds": args.soak, "rate_requests_per_s": rate, "rss_samples": samples, "rss_first_mib": rss[0],
              "rss_last_mib": rss[-1], "rss_max_mib": max(rss)}
    result.update(_check_delivery(workload, sent, broker.bootstrap, target.topics))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64,
                        help="requests in flight: the batch processor holds each until Kafka acknowledged it")
    parser.add_argument("--workloads", default="llm,mixed,plain")
    parser.add_argument("--targets", default="ceiling-decode,ceiling-walk,default,default-x2")
    parser.add_argument("--rate", type=float, default=None,
                        help="pace the main run at this many requests/s (same load for an A/B of CPU per span)")
    parser.add_argument("--soak", type=float, default=0, help="seconds of the RSS soak run (instead of the table)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value of the default pipeline, e.g. processors.batch.timeout=50ms")
    args = parser.parse_args(argv)
    args.overrides = dict(item.split("=", 1) for item in args.set)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with kafka_check.broker() as broker:
        if args.soak:
            result = soak(args, broker)
            print(f"RSS over {args.soak:.0f}s at {result['rate_requests_per_s']:.1f} requests/s: first "
                  f"{result['rss_first_mib']:.0f} MiB, last {result['rss_last_mib']:.0f} MiB, max "
                  f"{result['rss_max_mib']:.0f} MiB; spans delivered {result['spans_delivered']}/"
                  f"{result['spans_sent']}{'' if result['delivered_ok'] else ' FAILED'}")
            Path(args.out or RESULTS / "soak.json").write_text(json.dumps({"machine": machine(), **result}, indent=2))
            return 0 if result["delivered_ok"] else 1
        rows = []
        for workload_name in args.workloads.split(","):
            workload = Workload(workload_name)
            for target in args.targets.split(","):
                rows.append(measure(target, workload, args, broker, f"{len(rows)}-{int(time.time())}"))
                print(f"  measured {workload_name}/{target}: {rows[-1]['spans_per_s']:.0f} spans/s", file=sys.stderr)
    print(table(rows))
    Path(args.out or RESULTS / "throughput.json").write_text(json.dumps(
        {"machine": machine(), "seconds": args.seconds, "concurrency": args.concurrency, "rows": rows}, indent=2))
    failed = [r for r in rows if r.get("delivered_ok") is False]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
