"""Records/s that tokenstream gets acknowledged by Kafka, against aiokafka producing the same bytes with no
pipeline, both in the same run against the same broker.

    python -m bench.kafka_delivery [--seconds 10] [--workload mixed]

1. tokenstream (otlp -> stream -> batch -> kafka) takes pre-encoded OTLP as fast as it answers; the
   rate is the Kafka records it wrote, over the time until its kafka exporter's acknowledged count
   (tokenstream_exporter_sent_records_total, which only counts broker acks) stopped growing. Every acknowledged
   item must be on the topics, or the run fails.
2. The kafka exporter alone, in process: the same spans and stream records, as batches, into its consume().
3. Every message tokenstream wrote is read back (key, value, headers) and produced again by a bare aiokafka
   producer with the exporter's settings (acks=all, same linger and batch size), sending all then awaiting the acks.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from bench import payloads
from bench.drive import drive
from bench.throughput import RESULTS
from processor.component import Kind
from processor.config.loader import load
from processor.exporters.kafka import KafkaExporterConfig, factory
from processor.kafka.embedded import EmbeddedBroker
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings
from processor.testing.process import TokenstreamProcess, free_port

TOPICS = ("bench.spans", "bench.streams", "bench.anomalies")


def _config(bootstrap: str, grpc: int, health: int, metrics: int) -> dict:
    return load(["pipelines/default.yaml"], [
        f"receivers.otlp.protocols.grpc.endpoint=127.0.0.1:{grpc}",
        f"exporters.kafka.brokers=[{bootstrap}]",
        f"exporters.kafka.topics={{spans: {TOPICS[0]}, streams: {TOPICS[1]}, anomalies: {TOPICS[2]}, "
        "trace_costs: null}",
        "processors.stream.wait=200ms",
        f"extensions.health_check.endpoint=127.0.0.1:{health}",
        f"service.telemetry.metrics.address=127.0.0.1:{metrics}",
        "service.extensions=[health_check]",
        "service.pipelines.traces.exporters=[kafka]",
        "service.pipelines.logs=null",
        "service.telemetry.logs.level=warn",
    ], env={})


def _sent(metrics_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text)
               if family.name == "tokenstream_exporter_sent_records" for sample in family.samples
               if sample.name.endswith("_total") and sample.labels.get("exporter") == "kafka")


def run_pipeline(bootstrap: str, bodies: list[bytes], seconds: float) -> dict:
    grpc, health, metrics = free_port(), free_port(), free_port()
    config = _config(bootstrap, grpc, health, metrics)
    config["service"]["pipelines"].pop("logs", None)
    config["receivers"]["otlp"]["protocols"].pop("http")
    for unused in ("file/streams", "file/anomalies", "file/logs", "streamz", "debug", "prometheus"):
        config["exporters"].pop(unused, None)
    config["extensions"].pop("streamz", None)
    with tempfile.TemporaryDirectory() as tmp:
        process = TokenstreamProcess(config, Path(tmp), health_port=health).start()
        try:
            started = time.perf_counter()
            sent = asyncio.run(drive(grpc, payloads.Fresh(bodies), seconds, 16))
            last, last_change = _sent(metrics), time.perf_counter()
            while time.perf_counter() - last_change < 1.5:  # until the exporter has nothing left to get acked
                time.sleep(0.1)
                now = _sent(metrics)
                if now != last:
                    last, last_change = now, time.perf_counter()
            elapsed = last_change - started
        finally:
            code = process.stop()
    if code != 0:
        raise RuntimeError(f"tokenstream exited {code}")
    llm_spans = sum(count * payloads.llm_spans(body) for count, body in zip(sent["by_body"], bodies, strict=True))
    return {"records": int(last), "seconds": elapsed, "requests": sent["acked"], "failures": sent["failures"],
            "llm_spans": llm_spans}


async def read_back(bootstrap: str) -> list[tuple[str, bytes | None, bytes, list]]:
    consumer = AIOKafkaConsumer(*TOPICS, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    messages = []
    try:
        while True:
            polled = await consumer.getmany(timeout_ms=2000, max_records=10_000)
            if not polled:
                break
            for records in polled.values():
                messages += [(r.topic, r.key, r.value, list(r.headers)) for r in records]
    finally:
        await consumer.stop()
    return messages


async def exporter_alone(bootstrap: str, messages) -> float:
    """Seconds the kafka exporter takes to get the same spans and records acknowledged, fed as many batches at
    once as the otlp receiver lets requests be in flight (128)."""
    spans = [ExportTraceServiceRequest.FromString(m[2]) for m in messages if m[0] == TOPICS[0]]
    records = [StreamRecord.FromString(m[2]) for m in messages if m[0] == TOPICS[1]]
    batches = [Batch(Signal.TRACES, request, streams=[record] if index < len(records) else [])
               for index, (request, record) in enumerate(itertools.zip_longest(spans, records[:len(spans)]))
               if request is not None]
    config = KafkaExporterConfig(brokers=[bootstrap], topics={"spans": "alone.spans", "streams": "alone.streams",
                                                              "anomalies": None, "trace_costs": None})
    exporter = factory.create(create_settings("kafka", Kind.EXPORTER), config, None)
    await exporter.start(Host(SelfTelemetry()))
    try:
        started = time.perf_counter()
        for index in range(0, len(batches), 128):
            await asyncio.gather(*(exporter.consume(b) for b in batches[index:index + 128]))
        return time.perf_counter() - started
    finally:
        await exporter.shutdown()


async def produce_same_bytes(bootstrap: str, messages) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024,
                                max_request_size=8 * 2**20, enable_idempotence=False)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(f"raw.{topic}", value, key=key, headers=headers)
                   for topic, key, value, headers in messages]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


def _items(messages) -> int:
    """What the exporter counts: spans in the spans topic's messages, one per stream record or anomaly."""
    spans = sum(len(s.spans) for topic, _, value, _ in messages if topic == TOPICS[0]
                for rs in ExportTraceServiceRequest.FromString(value).resource_spans for s in rs.scope_spans)
    return spans + sum(1 for m in messages if m[0] != TOPICS[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workload", default="mixed", choices=payloads.WORKLOADS)
    parser.add_argument("--out", default=str(RESULTS / "kafka_delivery.json"))
    args = parser.parse_args(argv)
    broker = EmbeddedBroker()
    bootstrap = broker.start()
    try:
        bodies = payloads.build(args.workload)
        pipeline = run_pipeline(bootstrap, bodies, args.seconds)
        messages = asyncio.run(read_back(bootstrap))
        alone_seconds = asyncio.run(exporter_alone(bootstrap, messages))
        raw_seconds = asyncio.run(produce_same_bytes(bootstrap, messages))
    finally:
        broker.stop()
    on_topics = _items(messages)
    streams = sum(1 for m in messages if m[0] == TOPICS[1])
    if on_topics < pipeline["records"] or streams < pipeline["llm_spans"]:
        print(f"FAILED: {pipeline['records']} acknowledged but {on_topics} on the topics; {streams} stream records "
              f"for {pipeline['llm_spans']} LLM spans sent", file=sys.stderr)
        return 1
    volume = sum(len(m[2]) for m in messages)
    result = {"workload": args.workload, "messages": len(messages), "bytes": volume,
              "pipeline_records_per_s": len(messages) / pipeline["seconds"],
              "exporter_records_per_s": len(messages) / alone_seconds,
              "aiokafka_records_per_s": len(messages) / raw_seconds, **pipeline}
    result["ratio"] = result["pipeline_records_per_s"] / result["aiokafka_records_per_s"]
    by_topic = {topic: sum(1 for m in messages if m[0] == topic) for topic in TOPICS}
    print(f"workload {args.workload}: {pipeline['requests']} OTLP requests -> {len(messages)} Kafka records "
          f"({volume / 2**20:.1f} MiB) {by_topic}")
    print(f"tokenstream acknowledged : {result['pipeline_records_per_s']:10.0f} records/s (end to end from OTLP)")
    print(f"kafka exporter alone     : {result['exporter_records_per_s']:10.0f} records/s (batches in process)")
    print(f"aiokafka, same bytes     : {result['aiokafka_records_per_s']:10.0f} records/s (produce only)")
    print(f"ratio end to end / aiokafka: {result['ratio']:.2f}; exporter alone / aiokafka: "
          f"{result['exporter_records_per_s'] / result['aiokafka_records_per_s']:.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
