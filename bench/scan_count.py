"""Scans of each request's bytes (calls to wire.scan_traces), by caller, through pipelines/default.yaml's processing,
and the process's CPU time per request.

    python -m bench.scan_count [--requests 200] [--workloads plain,mixed,llm] [--set KEY=VALUE ...]

In process, no network: the OTLP receiver's export path (ExportHandler.admitted / export, as gRPC calls it) feeds
the default pipeline with its exporters replaced by `debug` (the Kafka exporter's own scans are not counted), 16
requests in flight so that the batch processor merges them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

from bench import payloads
from processor import wire
from processor.component import Kind
from processor.config.loader import load
from processor.config.validate import validate
from processor.model.batch import Signal
from processor.receivers.otlp.export import PROTOBUF_DECODER
from processor.service.graph import Graph
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry

DEFAULT = Path(__file__).parents[1] / "pipelines" / "default.yaml"
ONLY_DEBUG = ("service.pipelines.traces.exporters=[debug]", "service.pipelines.logs.exporters=[debug]",
              "service.extensions=[]")


def _counting(counts: Counter):
    scan = wire.scan_traces

    def counted(data, claims=wire.NO_CLAIMS):
        caller = sys._getframe(1).f_code
        counts[f"{Path(caller.co_filename).parent.name}/{Path(caller.co_filename).stem}.{caller.co_name}"] += 1
        return scan(data, claims)

    return counted


async def run(workload: str, requests: int, overrides: tuple[str, ...]) -> tuple[Counter, float]:
    counts: Counter = Counter()
    graph = Graph(validate(load([DEFAULT], (*ONLY_DEBUG, *overrides))), SelfTelemetry())
    host = Host(SelfTelemetry())
    nodes = [node for node in graph.start_order() if node.kind is not Kind.RECEIVER]  # no sockets
    for node in nodes:
        await node.component.start(host)
    handler = graph.receivers[0].component.handler
    fresh = payloads.Fresh(payloads.build(workload))
    places = asyncio.Semaphore(16)

    async def send(serial: int) -> None:
        async with places:
            with handler.admitted(Signal.TRACES, "grpc", fresh.body(serial % len(fresh.bodies), serial),
                                  PROTOBUF_DECODER) as batch:
                await handler.export(Signal.TRACES, batch, "grpc")

    scan = wire.scan_traces
    wire.scan_traces = _counting(counts)
    try:
        started = time.process_time()
        await asyncio.gather(*(send(serial) for serial in range(requests)))
        cpu = time.process_time() - started
    finally:
        wire.scan_traces = scan
        for node in reversed(nodes):
            await node.component.shutdown()
    return counts, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workloads", default="plain,mixed,llm")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    print(f"wire core: {wire.IMPLEMENTATION}")
    for workload in args.workloads.split(","):
        counts, cpu = asyncio.run(run(workload, args.requests, tuple(args.set)))
        total = sum(counts.values())
        detail = ", ".join(f"{caller} {n / args.requests:.2f}" for caller, n in counts.most_common())
        print(f"{workload}: {total / args.requests:.2f} scans per request ({detail}); "
              f"{cpu / args.requests * 1e6:.0f} CPU-us per request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
