"""The documented wiring, end to end: OTLP/HTTP in, the `stream` processor, the streamz exporter, the page's JSON
out. The page draws the stalls the processor found, by its cadence settings."""

from __future__ import annotations

import asyncio
import random

import pytest
from aiohttp import ClientSession, ClientTimeout

from processor.config.validate import validate
from processor.loadgen.profiles import StreamPlan
from processor.loadgen.spans import TraceBuilder
from processor.service.service import Service
from processor.testing.process import free_port


def config(otlp_port: int, streamz_port: int, cadence: dict) -> dict:
    return {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{otlp_port}"}}}},
        "processors": {"stream": {"wait": "200ms", "cadence": cadence}},
        "exporters": {"streamz": {}},
        "extensions": {"streamz": {"endpoint": f"127.0.0.1:{streamz_port}"}},
        "service": {"extensions": ["streamz"], "telemetry": {"metrics": {"level": "none"}},
                    "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["stream"],
                                             "exporters": ["streamz"]}}},
    }


def plan(stall_s: float) -> StreamPlan:
    """An OpenLLMetry stream: chunks 50 ms apart, silent for `stall_s` more after the 4th."""
    return StreamPlan(kind="stall", provider="openai", model="gpt-4o", route="/chat", tenant="acme", session="s-1",
                      ttft_s=0.4, gap_s=0.05, content_chunks=10, stalls=[(4, stall_s)])


async def shown(cadence: dict, stream: StreamPlan) -> dict:
    """The page's entry (/streamz/api/streams) for the one stream sent through a pipeline with these settings."""
    otlp_port, streamz_port = free_port(), free_port()
    service = Service(validate(config(otlp_port, streamz_port, cadence)))
    builder = TraceBuilder(random.Random(7))
    builder.add(stream)
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
    return entry


async def test_a_stalled_openllmetry_stream_reaches_the_page_with_its_chunk_times_and_stall():
    stream = plan(3.0)
    entry = await shown({"stall_gap": "2s"}, stream)
    assert entry["record"]["response_model"].startswith("gpt-4o")
    assert entry["timeline"]["source"] == "chunk_events"
    assert entry["timeline"]["chunk_total"] >= stream.content_chunks
    [stall] = entry["timeline"]["stalls"]
    assert round(stall["gap_s"], 2) == 3.05
    assert stall["from_s"] in entry["timeline"]["chunks"] and stall["to_s"] in entry["timeline"]["chunks"]
    assert (entry["record"]["stall_count"], round(entry["record"]["stalled_s"], 2)) == (1, 3.05)
    assert [anomaly["kind"] for anomaly in entry["anomalies"]] == ["stall"]


@pytest.mark.parametrize(("cadence", "stalls"), [
    ({"stall_gap": "2s"}, []),
    ({"stall_gap": "2s", "stall_factor": 4}, [1.05]),  # 1.05 s is 21 times the stream's median gap of 50 ms
], ids=["stall_gap alone", "with stall_factor"])
async def test_the_page_shows_the_stalls_the_processor_found_by_its_stall_factor_too(cadence, stalls):
    entry = await shown(cadence, plan(1.0))
    assert [round(stall["gap_s"], 2) for stall in entry["timeline"]["stalls"]] == stalls
    assert entry["record"]["stall_count"] == len(stalls)
    assert [anomaly["kind"] for anomaly in entry["anomalies"]] == ["stall"] * len(stalls)
