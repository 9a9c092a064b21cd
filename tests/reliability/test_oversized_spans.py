"""One client sends spans too large for any Kafka record (max_message_bytes, 1 MiB), among other clients' traffic,
against `tokenstream run` on the default pipeline, whose batch processor merges the requests of every client.

Expect: the other clients (the real SDK's OTLPSpanExporter, which does not retry INVALID_ARGUMENT and reports that
data as dropped) are all answered OK and their spans reach the topic; the sender of a large span is told, by an OTLP
partial success naming one refused span, and its other spans are delivered; each large span is in the dead-letter
file and counted. With the persistent queue too: nothing too large is acknowledged (it was answered OK once on disk,
then released from the queue with an ERROR line).
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from dataclasses import dataclass

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.reliability import sdk
from tests.reliability.client import GrpcSender, Ledger
from tests.reliability.figures import Row, record
from tests.reliability.observe import compare, metric_total, scrape, spans_on_topic
from tests.reliability.pipeline import Ports, Topics, default_pipeline, start_tokenstream
from tests.reliability.traffic import Request, SpanKey

pytestmark = pytest.mark.kafka

#: Over the default max_message_bytes (1 MiB) once encoded, after every processor (redaction keeps this attribute).
LARGE_ATTRIBUTE_BYTES = 1536 * 1024
T0 = 1_700_000_000_000_000_000


@dataclass
class Size:
    seconds: float
    apps: int  # innocent SDK apps, each exporting one batch at a time
    large_every: float  # seconds from an answer to the next request with a large span
    full: bool


FAST = Size(seconds=4, apps=3, large_every=0.25, full=False)
FULL = Size(seconds=30, apps=8, large_every=0.1, full=True)


def large_request(rng: random.Random) -> Request:
    """One trace: a span too large for any record, and two small ones beside it (which do fit, split off)."""
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.add(key="service.name").value.string_value = "dumps-everything"
    scope = resource.scope_spans.add()
    scope.scope.name = "app"
    trace_id = rng.randbytes(16)
    keys = []
    for index in range(3):
        span = scope.spans.add(trace_id=trace_id, span_id=rng.randbytes(8), name=f"step {index}",
                               start_time_unix_nano=T0, end_time_unix_nano=T0 + 1_000_000_000)
        if index == 1:
            span.attributes.add(key="app.debug.dump").value.string_value = "x" * LARGE_ATTRIBUTE_BYTES
        keys.append((trace_id, span.span_id))
    return Request(request.SerializeToString(), keys, too_large=frozenset(keys[1:2]))


@dataclass
class Apps:
    """Innocent SDK apps: each sends small batches back to back with its own exporter, until stopped."""

    results: list[SpanExportResult]
    keys: list[SpanKey]

    @classmethod
    def run(cls, port: int, apps: int, stop: threading.Event) -> Apps:
        out = cls([], [])
        lock = threading.Lock()

        def app(index: int) -> None:
            exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=30)
            try:
                while not stop.is_set():
                    spans = sdk.llm_spans(5, service=f"innocent-{index}")
                    result = exporter.export(spans)
                    with lock:
                        out.results.append(result)
                        out.keys += [sdk.key(span) for span in spans]
            finally:
                exporter.shutdown()

        threads = [threading.Thread(target=app, args=(i,)) for i in range(apps)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return out


async def oversized_among_others(size: Size, tmp_path, bootstrap: str, *, persistent: bool) -> None:
    ports, topics = Ports(), Topics.unique()
    dead_letter = tmp_path / "dead-letter.jsonl"
    kafka = {"dead_letter": {"path": str(dead_letter)}}
    if persistent:
        kafka["sending_queue"] = {"storage": {"directory": str(tmp_path / "queue")}}
    process = start_tokenstream(tmp_path, default_pipeline(tmp_path, ports, bootstrap, topics, kafka=kafka), ports)
    ledger = Ledger()
    sender = GrpcSender(ports.grpc, ledger, timeout=30.0)
    rng = random.Random(13)
    stop = threading.Event()
    try:
        apps = asyncio.create_task(asyncio.to_thread(Apps.run, ports.grpc, size.apps, stop))
        large_requests = 0
        deadline = time.monotonic() + size.seconds
        while time.monotonic() < deadline:
            await sender.send(large_request(rng))
            large_requests += 1
            await asyncio.sleep(size.large_every)
        stop.set()
        innocent = await apps
        wanted = ledger.acknowledged + innocent.keys
        seen = await spans_on_topic(bootstrap, topics.spans, len(set(wanted)), timeout=60)
        delivery = compare(wanted, seen)
        lines = [json.loads(line) for line in dead_letter.read_text().splitlines()] if dead_letter.exists() else []
        kept = metric_total(scrape(ports.metrics), "tokenstream_exporter_dead_letter_records_total")
        failed = [result for result in innocent.results if result is not SpanExportResult.SUCCESS]
        name = "one client's spans too large for Kafka" + (", persistent queue" if persistent else "")
        record(Row(name, f"{size.apps} SDK apps sending small batches for {size.seconds:.0f} s; one client sends "
                   f"traces with a {LARGE_ATTRIBUTE_BYTES >> 10} KiB span, one at a time, {size.large_every} s after "
                   "each answer; max_message_bytes 1 MiB, dead_letter set",
                   lost=delivery.lost, duplicated=delivery.duplicated, refused=len(failed) * 5,
                   other={"innocent requests": len(innocent.results), "innocent requests failed": len(failed),
                          "innocent spans": len(innocent.keys),
                          "large-span requests": large_requests, "their answers": dict(ledger.outcomes),
                          "spans refused by partial success": ledger.partially_refused_spans,
                          "dead-letter lines": len(lines), "dead-letter counter": kept}),
               full_size=size.full)
        assert process.proc.poll() is None, process.logs()[-3000:]
        assert innocent.results and not failed, f"{len(failed)} of {len(innocent.results)} innocent requests failed"
        assert delivery.lost == 0, f"{delivery.lost} acknowledged spans never reached the topic"
        assert ledger.outcomes == {"OK_PARTIAL": large_requests}, ledger.details
        assert ledger.partially_refused_spans == large_requests
        assert "larger than the Kafka record limit" in ledger.details["OK_PARTIAL"]
        assert len(lines) == kept == large_requests
        assert {(line["kind"], line["items"]) for line in lines} == {("spans", 1)}
    finally:
        stop.set()
        await sender.close()
        process.kill()


async def test_oversized_span_among_others_fast(tmp_path, kafka_bootstrap):
    await oversized_among_others(FAST, tmp_path, kafka_bootstrap, persistent=False)


async def test_oversized_span_with_the_persistent_queue_fast(tmp_path, kafka_bootstrap):
    await oversized_among_others(FAST, tmp_path, kafka_bootstrap, persistent=True)


@pytest.mark.slow
async def test_oversized_span_among_others_full(tmp_path, kafka_bootstrap):
    await oversized_among_others(FULL, tmp_path, kafka_bootstrap, persistent=False)


@pytest.mark.slow
async def test_oversized_span_with_the_persistent_queue_full(tmp_path, kafka_bootstrap):
    await oversized_among_others(FULL, tmp_path, kafka_bootstrap, persistent=True)
