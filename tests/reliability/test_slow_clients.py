"""Clients that start requests and never finish them, without any token: as many HTTP connections as there are
in-flight places send headers (`Content-Length: 500`) and then nothing, as many gRPC calls without a deadline never
send their message. Ordinary apps send beside them with the real OpenTelemetry SDK exporters.

Expect: the stalled clients hold no place, so every app's spans are taken at the first try, and read_timeout ends
the stalled requests (HTTP 408, gRPC DEADLINE_EXCEEDED).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import grpc
import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.reliability import sdk
from tests.reliability.figures import Row, record
from tests.reliability.observe import spans_on_topic
from tests.reliability.pipeline import Ports, Topics, default_pipeline, start_tokenstream
from tests.support.abusive_clients import StalledGrpcCalls, StalledHttpBodies, ensure_open_files, wait_until

pytestmark = pytest.mark.kafka


@dataclass
class Size:
    places: int
    apps: int
    read_timeout_s: float
    full: bool


#: The full size is the default receiver: 128 places, and the default read_timeout of 30 s.
FAST = Size(places=16, apps=6, read_timeout_s=3.0, full=False)
FULL = Size(places=128, apps=30, read_timeout_s=30.0, full=True)


async def slow_clients(size: Size, tmp_path, bootstrap: str) -> None:
    ensure_open_files(4 * size.places + 500)
    ports, topics = Ports(), Topics.unique()
    timeout = {"read_timeout": f"{size.read_timeout_s}s"}
    config = default_pipeline(tmp_path, ports, bootstrap, topics, grpc=timeout, http=timeout,
                              receiver={"max_in_flight_requests": size.places})
    spans = sdk.llm_spans(size.apps * 2 * 3 * 10, service="innocent-app")
    batches = [spans[i:i + 10] for i in range(0, len(spans), 10)]
    grpc_batches, http_batches = batches[: len(batches) // 2], batches[len(batches) // 2:]
    process = start_tokenstream(tmp_path, config, ports)
    try:
        with sdk.RetryLog() as retries:
            async with StalledGrpcCalls(ports.grpc, size.places, channels=8) as calls:
                with StalledHttpBodies(ports.http, size.places) as bodies:
                    started = time.monotonic()
                    results = await asyncio.gather(
                        asyncio.to_thread(sdk.export_all, ports.grpc, grpc_batches, threads=size.apps, timeout=30.0),
                        asyncio.to_thread(sdk.export_all, ports.http, http_batches, threads=size.apps, timeout=30.0,
                                          transport="http"))
                    exported_in = time.monotonic() - started
                    ended = await wait_until(lambda: calls.ended() == bodies.ended() == size.places,
                                             timeout=size.read_timeout_s * 3 + 30)
                    ended_in = time.monotonic() - started
                    statuses, codes = bodies.statuses(), await calls.codes()
        seen = await spans_on_topic(bootstrap, topics.spans, len(spans), timeout=60.0)
        delivered = sum(1 for span in spans if sdk.key(span) in seen)
        record(Row("clients that never send their body", f"{size.places} HTTP bodies and {size.places} gRPC messages "
                   f"that never come (max_in_flight_requests {size.places}, read_timeout {size.read_timeout_s:g} s), "
                   f"beside {size.apps} SDK apps on each transport", lost=len(spans) - delivered,
                   refused=len(retries.delays),
                   other={"app exports": len(batches), "app exports answered in (s)": round(exported_in, 1),
                          "stalled requests ended in (s)": round(ended_in, 1),
                          "HTTP answers": sorted(set(statuses)), "gRPC answers": sorted({c.name for c in codes})}),
               full_size=size.full)
        assert process.proc.poll() is None, process.logs()[-3000:]
        assert results == [[SpanExportResult.SUCCESS] * len(grpc_batches), [SpanExportResult.SUCCESS] * len(
            http_batches)]
        assert retries.delays == [], f"apps were refused beside the stalled clients: {retries.delays}"
        assert delivered == len(spans)
        assert ended, (calls.ended(), bodies.ended())
        assert set(statuses) == {408} and set(codes) == {grpc.StatusCode.DEADLINE_EXCEEDED}
    finally:
        process.kill()


async def test_slow_clients_fast(tmp_path, kafka_bootstrap):
    await slow_clients(FAST, tmp_path, kafka_bootstrap)


@pytest.mark.slow
async def test_slow_clients_full(tmp_path, kafka_bootstrap):
    await slow_clients(FULL, tmp_path, kafka_bootstrap)
