"""The documented wiring, end to end: OTLP/HTTP in, the stream processors, the streamz exporter, the page's JSON out."""

from __future__ import annotations

import asyncio
import random

from aiohttp import ClientSession, ClientTimeout

from processor.config.validate import validate
from processor.loadgen.profiles import StreamPlan
from processor.loadgen.spans import TraceBuilder
from processor.service.service import Service
from processor.testing.process import free_port


def config(otlp_port: int, streamz_port: int) -> dict:
    return {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{otlp_port}"}}}},
        "processors": {"stream_reconstruct": {"wait": "200ms"}, "cadence": {"stall_gap": "2s"}},
        "exporters": {"streamz": {}},
        "extensions": {"streamz": {"endpoint": f"127.0.0.1:{streamz_port}", "stall_gap": "2s"}},
        "service": {"extensions": ["streamz"], "telemetry": {"metrics": {"level": "none"}},
                    "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["stream_reconstruct", "cadence"],
                                             "exporters": ["streamz"]}}},
    }


async def test_a_stalled_openllmetry_stream_reaches_the_page_with_its_chunk_times_and_stall():
    otlp_port, streamz_port = free_port(), free_port()
    service = Service(validate(config(otlp_port, streamz_port)))
    builder = TraceBuilder(random.Random(7))
    plan = StreamPlan(kind="stall", provider="openai", model="gpt-4o", route="/chat", tenant="acme", session="s-1",
                      ttft_s=0.4, gap_s=0.05, content_chunks=10, stalls=[(4, 3.0)])
    builder.add(plan)
    await service.start()
    try:
        async with ClientSession(timeout=ClientTimeout(total=5)) as http, asyncio.timeout(30):
            async with http.post(f"http://127.0.0.1:{otlp_port}/v1/traces", data=builder.request.SerializeToString(),
                                 headers={"Content-Type": "application/x-protobuf"}) as response:
                assert response.status == 200
            while True:
                async with http.get(f"http://127.0.0.1:{streamz_port}/streamz/api/streams") as response:
                    streams = (await response.json())["streams"]
                if streams:
                    break
                await asyncio.sleep(0.1)
    finally:
        await service.shutdown()
    [entry] = streams
    assert entry["record"]["response_model"].startswith("gpt-4o")
    assert entry["timeline"]["source"] == "chunk_events"
    assert entry["timeline"]["chunk_total"] >= plan.content_chunks
    assert [round(stall["gap_s"]) for stall in entry["timeline"]["stalls"]] == [3]
    assert [anomaly["kind"] for anomaly in entry["anomalies"]] == ["stall"]  # the cadence processor's
