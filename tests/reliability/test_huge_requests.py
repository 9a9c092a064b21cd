"""One client sends valid but huge requests (LLM spans with a million chunk events, 45 MB), one after the other as an
exporter does; 30 ordinary apps send beside it with the real OpenTelemetry SDK exporter.

Expect: the huge requests are refused before they are decoded, with RESOURCE_EXHAUSTED naming the limit, so memory
stays put and memory_limiter refuses nobody else: every app's spans are taken at the first try. (Receiving a request
costs memory before anything can be decided about it: gRPC holds the whole message; several clients sending such
requests at once would still fill memory with them, as they would in any server.)
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import Counter
from dataclasses import dataclass

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.reliability import sdk
from tests.reliability.client import EXPORT
from tests.reliability.figures import Row, record
from tests.reliability.observe import MIB, RssSampler, spans_on_topic
from tests.reliability.pipeline import Ports, Topics, default_pipeline, start_tokenstream

pytestmark = pytest.mark.kafka


@dataclass
class Size:
    spans: int
    events_per_span: int
    limit_mib: int
    apps: int
    batches_per_app: int
    full: bool

    @property
    def events(self) -> int:
        return self.spans * self.events_per_span


#: At limit_mib 512 one request may take 102 MiB decoded (the spike limit): 500,000 chunk events (22 MB) are estimated
#: at about 130 MiB.
FAST = Size(spans=5000, events_per_span=100, limit_mib=512, apps=10, batches_per_app=3, full=False)
FULL = Size(spans=10_000, events_per_span=100, limit_mib=512, apps=30, batches_per_app=5, full=True)
#: Huge requests out at once, each sent again as soon as it is answered: one client.
HUGE_SENDERS = 1


def huge_request(size: Size) -> bytes:
    """Streamed LLM calls as OpenLLMetry records them, each with `events_per_span` chunk events."""
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.add(key="service.name").value.string_value = "huge-client"
    scope = resource.scope_spans.add()
    scope.scope.name = "opentelemetry.instrumentation.openai.v1"
    start = time.time_ns() - 60 * 10**9
    for index in range(size.spans):
        span = scope.spans.add(trace_id=struct.pack(">QQ", 7, index + 1), span_id=struct.pack(">Q", index + 1),
                               name="openai.chat", kind=3, start_time_unix_nano=start,
                               end_time_unix_nano=start + 10**9)
        span.attributes.add(key="gen_ai.system").value.string_value = "openai"
        span.attributes.add(key="gen_ai.request.model").value.string_value = "gpt-4o"
        span.attributes.add(key="llm.is_streaming").value.bool_value = True
        for chunk in range(size.events_per_span):
            span.events.add(name="gen_ai.content.completion.chunk", time_unix_nano=start + chunk * 5_000_000)
    return request.SerializeToString()


async def send_huge(port: int, body: bytes, stop: asyncio.Event, answers: Counter[str], details: dict) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[
            ("grpc.max_send_message_length", 64 << 20)]) as channel:
        export = channel.unary_unary(EXPORT)

        async def sender() -> None:
            while not stop.is_set():
                try:
                    await export(body, timeout=60)
                    answers["OK"] += 1
                except grpc.aio.AioRpcError as error:
                    answers[error.code().name] += 1
                    details.setdefault(error.code().name, error.details())
                    if error.code() is not grpc.StatusCode.RESOURCE_EXHAUSTED:
                        await asyncio.sleep(0.5)  # as a retrying client would

        await asyncio.gather(*(sender() for _ in range(HUGE_SENDERS)))


async def huge_requests(size: Size, tmp_path, bootstrap: str) -> None:
    ports, topics = Ports(), Topics.unique()
    config = default_pipeline(tmp_path, ports, bootstrap, topics, limit_mib=size.limit_mib)
    body = await asyncio.to_thread(huge_request, size)
    spans = sdk.llm_spans(size.apps * size.batches_per_app * 20)
    batches = [spans[i:i + 20] for i in range(0, len(spans), 20)]
    process = start_tokenstream(tmp_path, config, ports)
    answers: Counter[str] = Counter()
    details: dict[str, str] = {}
    stop = asyncio.Event()
    try:
        with RssSampler(process.proc.pid) as rss, sdk.RetryLog() as retries:
            huge = asyncio.create_task(send_huge(ports.grpc, body, stop, answers, details))
            await asyncio.sleep(2.0)  # the huge requests are coming in before the apps send
            results = await asyncio.to_thread(sdk.export_all, ports.grpc, batches, threads=size.apps, timeout=60.0)
            stop.set()
            await asyncio.wait_for(huge, 120)
        seen = await spans_on_topic(bootstrap, topics.spans, len(spans), timeout=60.0)
        delivered = sum(1 for span in spans if sdk.key(span) in seen)
        record(Row("one client's huge requests", f"{len(body) / 1e6:.0f} MB requests ({size.events:,} chunk events "
                   f"each) back to back from one client, beside {size.apps} SDK apps; memory_limiter limit_mib "
                   f"{size.limit_mib}", lost=len(spans) - delivered, refused=len(retries.delays),
                   peak_rss_mib=round(rss.peak / MIB, 1),
                   other={"huge answers": dict(answers), "huge refusal": details.get("RESOURCE_EXHAUSTED", ""),
                          "app spans": len(spans), "app exports": len(batches),
                          "app exports refused and retried": len(retries.delays)}), full_size=size.full)
        assert process.proc.poll() is None, process.logs()[-3000:]
        assert answers and set(answers) == {"RESOURCE_EXHAUSTED"}, (answers, details)
        assert "memory_limiter" in details["RESOURCE_EXHAUSTED"], details
        assert results == [SpanExportResult.SUCCESS] * len(batches)
        assert retries.delays == [], f"apps were refused beside the huge client: {retries.delays}"
        assert delivered == len(spans)
        assert rss.peak < size.limit_mib * MIB
    finally:
        stop.set()
        process.kill()


async def test_huge_requests_fast(tmp_path, kafka_bootstrap):
    await huge_requests(FAST, tmp_path, kafka_bootstrap)


@pytest.mark.slow
async def test_huge_requests_full(tmp_path, kafka_bootstrap):
    await huge_requests(FULL, tmp_path, kafka_bootstrap)
