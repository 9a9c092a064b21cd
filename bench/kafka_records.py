"""CPU per Kafka record of the kafka exporter alone, in process: plain requests (50 spans, each its own trace, so
50 records a request) as batches into consume(), many at once as the pipeline hands them over, to a real broker.

    python -m bench.kafka_records [--seconds 5] [--concurrency 64] [--partitions 1] [--profile out.prof]

The figure is this process's CPU time (encoding, partitioning, batching, aiokafka's sending, settling: the
exporter's share of the pipeline thread; the broker runs in its own process) over the records acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import time

from bench import kafka_check, payloads
from processor.component import Kind
from processor.exporters.kafka import KafkaExporterConfig, factory
from processor.model.batch import Batch
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings


async def run(bootstrap: str, seconds: float, concurrency: int, partitions: int,
              profile: cProfile.Profile | None) -> tuple[int, float, float]:
    fresh = payloads.Fresh(payloads.build("plain"))
    serial = itertools.count()
    topic = f"records.{time.time_ns()}"
    config = KafkaExporterConfig(brokers=[bootstrap], create_topics={"partitions": partitions},
                                 topics={"spans": topic, "streams": None, "anomalies": None, "trace_costs": None})
    exporter = factory.create(create_settings("kafka", Kind.EXPORTER), config, None)
    await exporter.start(Host(SelfTelemetry()))
    records = 0

    async def one() -> None:
        nonlocal records
        n = next(serial)
        batch = Batch.of_bytes(fresh.body(n % len(fresh.bodies), n))
        await exporter.consume(batch)
        records += 50

    async def worker(until: float) -> None:
        while time.monotonic() < until:
            await one()

    try:
        await asyncio.gather(*(worker(time.monotonic() + 1.0) for _ in range(concurrency)))  # warm up
        records = 0
        if profile is not None:
            profile.enable()
        collecting = _GcTime()
        cpu = time.process_time()
        with collecting:
            await asyncio.gather(*(worker(time.monotonic() + seconds) for _ in range(concurrency)))
        cpu = time.process_time() - cpu
        if profile is not None:
            profile.disable()
        return records, cpu, collecting.seconds
    finally:
        await exporter.shutdown()


class _GcTime:
    """Seconds spent in the garbage collector while inside `with`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> _GcTime:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._callback)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--profile", default=None, help="write cProfile stats of the measured part here")
    args = parser.parse_args(argv)
    profile = cProfile.Profile() if args.profile else None
    with kafka_check.broker() as broker:
        records, cpu, collecting = asyncio.run(run(broker.bootstrap, args.seconds, args.concurrency, args.partitions,
                                                   profile))
    if profile is not None:
        profile.dump_stats(args.profile)
    print(f"{records} records acknowledged, {cpu:.2f} s CPU: {cpu / records * 1e6:.2f} µs CPU per record "
          f"({collecting / records * 1e6:.2f} µs of it in garbage collections)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
