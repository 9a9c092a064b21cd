"""Cardinality: many distinct model and route values. Prometheus keeps at most the configured number of series per
metric and counts what it folds into `__overflow__`; the stream processor holds at most max_traces and counts evictions.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import pytest

from processor.loadgen.profiles import draw
from tests.reliability.client import GrpcSender, Ledger
from tests.reliability.figures import Row, record
from tests.reliability.observe import MIB, RssSampler, metric_total, samples, scrape, wait_until
from tests.reliability.pipeline import Ports, Topics, default_pipeline, start_tokenstream
from tests.reliability.traffic import Request, build_template

pytestmark = pytest.mark.kafka
CAP = 200
MAX_TRACES = 2000
PER_REQUEST = 20


def distinct_requests(count: int, seed: int = 3):
    """Requests whose streams each have a model and route no other stream has (short streams: 3 chunks)."""
    rng = random.Random(seed)
    for start in range(0, count, PER_REQUEST):
        plans = [replace(draw("normal", rng), model=f"model-{i}", route=f"/v1/route-{i}", content_chunks=3)
                 for i in range(start, min(start + PER_REQUEST, count))]
        template = build_template(plans, rng)
        yield Request(template.body, [(t, s) for t, spans in template.traces.items() for s in spans])


async def cardinality(distinct: int, tmp_path, bootstrap: str, *, full: bool) -> None:
    ports, topics = Ports(), Topics.unique()
    config = default_pipeline(tmp_path, ports, bootstrap, topics, processors={
        # wait: 1h keeps every trace until it is evicted, so evictions must be exactly sent - max_traces
        "stream": {"max_traces": MAX_TRACES, "wait": "1h"}})
    config["exporters"]["prometheus"]["cardinality_limit"] = CAP
    process = start_tokenstream(tmp_path, config, ports)
    ledger = Ledger()
    sender = GrpcSender(ports.grpc, ledger, timeout=30.0)
    requests = distinct_requests(distinct)
    try:
        with RssSampler(process.proc.pid) as rss:
            async def caller() -> None:
                for request in requests:  # one shared generator: four callers take turns
                    await sender.send(request)
            await asyncio.gather(*(caller() for _ in range(4)))
            evicted_wanted = distinct - MAX_TRACES

            def evicted() -> float:
                return metric_total(scrape(ports.metrics), "tokenstream_stream_evicted_traces_total")
            await asyncio.to_thread(wait_until, lambda: evicted() >= evicted_wanted, timeout=60)
            telemetry, exposition = scrape(ports.metrics), scrape(ports.prometheus)
        series = {name: len(samples(exposition, name)) for name in (
            "llm_streams_total", "gen_ai_server_time_to_first_token_seconds_count")}
        overflowed = metric_total(telemetry, "tokenstream_prometheus_overflow_total")
        evictions = metric_total(telemetry, "tokenstream_stream_evicted_traces_total")
        record(Row("cardinality", f"{distinct:,} distinct model and route values; cardinality_limit {CAP}, "
                   f"max_traces {MAX_TRACES}", refused=ledger.refused_spans, peak_rss_mib=round(rss.peak / MIB, 1),
                   other={"series per metric": series, "overflow folds counted": int(overflowed),
                          "evicted traces": int(evictions), "held traces": int(distinct - evictions)}),
               full_size=full)
        assert ledger.outcomes["OK"] and ledger.refused_spans == 0
        assert max(series.values()) <= CAP + 1  # the cap, plus the one __overflow__ series
        assert '__overflow__' in exposition and overflowed > 0
        assert evictions == evicted_wanted  # so exactly max_traces were held
    finally:
        await sender.close()
        process.kill()


async def test_cardinality_fast(tmp_path, kafka_bootstrap):
    await cardinality(10_000, tmp_path, kafka_bootstrap, full=False)


@pytest.mark.slow
async def test_cardinality_full(tmp_path, kafka_bootstrap):
    await cardinality(100_000, tmp_path, kafka_bootstrap, full=True)
