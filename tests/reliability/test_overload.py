"""Overload: 10x the rate the pipeline sustains (measured first, in the same run) against memory_limiter.

Expect: RSS under the limit; refusals are UNAVAILABLE with a retry delay, not timeouts; no crash; everything
acknowledged reaches the topic; and the SDK exporter's own retries deliver every span it was given.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.reliability import sdk
from tests.reliability.client import GrpcSender, Ledger, closed_loop, open_loop
from tests.reliability.figures import Row, record
from tests.reliability.observe import MIB, RssSampler, compare, spans_on_topic
from tests.reliability.pipeline import Ports, Topics, default_pipeline, start_tokenstream
from tests.reliability.traffic import Traffic

pytestmark = pytest.mark.kafka


@dataclass
class Size:
    seconds: float
    measure_seconds: float
    limit_mib: int
    sdk_spans: int
    full: bool


FAST = Size(seconds=8, measure_seconds=3, limit_mib=256, sdk_spans=400, full=False)
FULL = Size(seconds=60, measure_seconds=10, limit_mib=256, sdk_spans=2000, full=True)
#: The most requests out at once, as from 500 SDK exporters (each has one out at a time); beyond it the client side
#: is saturated, and that share is not offered. HTTP/2 lets each open call's body (63 KB here) into gRPC's memory
#: before the receiver has seen the call, so what the receiver cannot refuse grows with the calls open at once:
#: with 2000, a burst's first second took RSS to 258-262 MiB of the 256 MiB limit.
CLIENTS = 500


async def overload(size: Size, tmp_path, bootstrap: str) -> None:
    ports, topics = Ports(), Topics.unique()
    config = default_pipeline(tmp_path, ports, bootstrap, topics, limit_mib=size.limit_mib)
    process = start_tokenstream(tmp_path, config, ports)
    ledger = Ledger()
    sender = GrpcSender(ports.grpc, ledger, timeout=20.0)
    traffic = Traffic()
    sdk_spans = sdk.llm_spans(size.sdk_spans)
    batches = [sdk_spans[i:i + 50] for i in range(0, len(sdk_spans), 50)]
    try:
        with RssSampler(process.proc.pid) as rss, sdk.RetryLog() as retries:
            # enough callers to fill the batch processor, which holds each until its batch is delivered
            sustained = await closed_loop(sender, traffic, seconds=size.measure_seconds, concurrency=32)
            measured = len(ledger.acknowledged)
            # The SDK joins for the last part of the overload: refused there, its retries must get through after.
            sdk_start = size.seconds * 0.75
            sdk_results = asyncio.create_task(_after(sdk_start, asyncio.to_thread(
                sdk.export_all, ports.grpc, batches, timeout=120.0)))
            offered = await open_loop(sender, traffic, spans_per_s=10 * sustained, seconds=size.seconds,
                                      max_in_flight=CLIENTS)
            load_ended = time.monotonic()
            results = await sdk_results
            wanted = ledger.acknowledged + [sdk.key(span) for span in sdk_spans]
            seen = await spans_on_topic(bootstrap, topics.spans, len(set(wanted)), timeout=90.0)
            recovery = time.monotonic() - load_ended
            alive = process.proc.poll() is None
        delivery = compare(wanted, seen)
        record(Row("overload", f"10x of {sustained:.0f} spans/s sustained, {size.seconds:.0f} s, "
                               f"from {CLIENTS} clients at once, memory_limiter limit_mib {size.limit_mib}",
                   lost=delivery.lost, duplicated=delivery.duplicated, refused=ledger.refused_spans,
                   peak_rss_mib=round(rss.peak / MIB, 1), recovery_s=round(recovery, 1),
                   other={"offered spans": offered,
                          "offered (x sustained)": round(offered / size.seconds / sustained, 1),
                          "acknowledged spans": len(ledger.acknowledged) - measured,
                          "answers": dict(ledger.outcomes),
                          "unexpected": {k: ledger.details[k] for k in ledger.unexplained()},
                          "retry delays (s)": sorted(ledger.retry_delays),
                          "SDK spans": len(sdk_spans), "SDK retries": len(retries.delays),
                          "SDK delivered": sum(1 for s in sdk_spans if sdk.key(s) in seen)}),
               full_size=size.full)
        assert alive, process.logs()[-3000:]
        assert rss.samples > 0
        assert ledger.outcomes["UNAVAILABLE"] > 0, f"no refusals: the overload did not overload ({ledger.outcomes})"
        assert ledger.unexplained() == {}, f"answers other than OK and UNAVAILABLE with a retry delay: {ledger.details}"
        assert all(delay > 0 for delay in ledger.retry_delays)
        assert delivery.lost == 0
        assert results == [SpanExportResult.SUCCESS] * len(batches)
        assert retries.delays, "the SDK exporter was never refused: the overload ended before it sent"
        # The server asks for whole seconds; the SDK's own backoff (without RetryInfo) is jittered, never whole.
        assert all(delay == int(delay) >= 1 for delay in retries.delays), \
            f"the SDK did not wait the delay the server asked: {retries.delays}"
        assert rss.peak < size.limit_mib * MIB, f"peak RSS {rss.peak / MIB:.0f} MiB over the {size.limit_mib} MiB limit"
    finally:
        await sender.close()
        process.kill()


async def _after(delay: float, awaitable):
    await asyncio.sleep(delay)
    return await awaitable


async def test_overload_fast(tmp_path, kafka_bootstrap):
    await overload(FAST, tmp_path, kafka_bootstrap)


@pytest.mark.slow
async def test_overload_full(tmp_path, kafka_bootstrap):
    await overload(FULL, tmp_path, kafka_bootstrap)
