"""One trace kept alive: a client sends gen_ai log records under span ids that never arrive, all in one trace, while
others send spans, against `tokenstream run` on the default pipeline.

The stream processor keeps a copy of each such log record to join it when its span comes, and every one renews the
trace's hold. Before, that buffer had no bound: RSS grew with what the client sent, memory_limiter held it at its
soft limit and refused everyone (23% of all requests, until the load stopped). Expect: memory stays flat, the trace
is evicted (counted) and its waiting log records dropped (counted), the other clients are not refused.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tests.reliability.client import GrpcSender, Ledger, SteadyLoad
from tests.reliability.figures import Row, record
from tests.reliability.observe import (
    MIB,
    RssSampler,
    compare,
    metric_total,
    samples,
    scrape,
    spans_on_topic,
    vm_rss,
)
from tests.reliability.pipeline import Ports, Topics, default_pipeline, start_tokenstream
from tests.reliability.traffic import Traffic

pytestmark = pytest.mark.kafka

LOGS_EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


@dataclass
class Size:
    sent_mib: int  # log bodies sent into the one trace
    limit_mib: int  # memory_limiter
    full: bool


FAST = Size(sent_mib=150, limit_mib=512, full=False)
FULL = Size(sent_mib=1500, limit_mib=256, full=True)
RECORDS_PER_REQUEST = 50
BODY_BYTES = 20 * 1024  # 1 MiB a request


def orphan_logs(trace_id: bytes, rng: random.Random) -> bytes:
    """gen_ai.choice log records of one trace, each under a span id no span will ever have."""
    request = ExportLogsServiceRequest()
    resource = request.resource_logs.add()
    resource.resource.attributes.add(key="service.name").value.string_value = "keeps-one-trace-alive"
    scope = resource.scope_logs.add()
    for _ in range(RECORDS_PER_REQUEST):
        log = scope.log_records.add(trace_id=trace_id, span_id=rng.randbytes(8), event_name="gen_ai.choice",
                                    time_unix_nano=time.time_ns())
        log.body.string_value = rng.randbytes(BODY_BYTES // 2).hex()
    return request.SerializeToString()


async def keep_one_trace_alive(port: int, total_mib: int, *, senders: int = 2) -> dict[str, int]:
    """Sends `total_mib` of orphan log records in one trace from `senders` clients; returns their answers."""
    trace_id = random.Random(5).randbytes(16)
    answers: dict[str, int] = {}
    requests = total_mib * (1 << 20) // (RECORDS_PER_REQUEST * BODY_BYTES)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        export = channel.unary_unary(LOGS_EXPORT)

        async def sender(index: int) -> None:
            rng = random.Random(index)
            for _ in range(requests // senders):
                try:
                    await export(orphan_logs(trace_id, rng), timeout=30)
                    code = "OK"
                except grpc.aio.AioRpcError as error:
                    code = error.code().name
                answers[code] = answers.get(code, 0) + 1

        await asyncio.gather(*(sender(i) for i in range(senders)))
    return answers


async def live_trace(size: Size, tmp_path, bootstrap: str) -> None:
    ports, topics = Ports(), Topics.unique()
    config = default_pipeline(tmp_path, ports, bootstrap, topics, limit_mib=size.limit_mib)
    process = start_tokenstream(tmp_path, config, ports)
    ledger = Ledger()
    sender = GrpcSender(ports.grpc, ledger, timeout=20.0)
    try:
        await asyncio.sleep(1.0)  # the pipeline's own memory, after start-up
        start_rss = vm_rss(process.proc.pid)
        with RssSampler(process.proc.pid) as rss:
            load = SteadyLoad(sender, Traffic(), concurrency=2).start()
            started = time.monotonic()
            attack = await keep_one_trace_alive(ports.grpc, size.sent_mib)
            took = time.monotonic() - started
            await load.stop()
        seen = await spans_on_topic(bootstrap, topics.spans, len(set(ledger.acknowledged)), timeout=60)
        delivery = compare(ledger.acknowledged, seen)
        metrics = scrape(ports.metrics)
        evicted = {labels: value for labels, value in samples(metrics, "tokenstream_stream_evicted_traces_total")}
        dropped = metric_total(metrics, "tokenstream_stream_dropped_pieces_total")
        answered = sum(ledger.outcomes.values())
        record(Row("one trace kept alive by log records", f"{size.sent_mib} MiB of gen_ai log records under span "
                   f"ids that never arrive, in one trace, from 2 clients, beside 2 span clients; memory_limiter "
                   f"limit_mib {size.limit_mib}", lost=delivery.lost, duplicated=delivery.duplicated,
                   refused=ledger.refused_spans, peak_rss_mib=round(rss.peak / MIB, 1),
                   other={"seconds": round(took, 1), "log requests": attack,
                          "other clients' requests": answered, "their answers": dict(ledger.outcomes),
                          "evicted traces": {k: int(v) for k, v in evicted.items()},
                          "log records dropped with them": int(dropped),
                          "RSS growth (MiB)": round((rss.peak - start_rss) / MIB, 1)}),
               full_size=size.full)
        assert process.proc.poll() is None, process.logs()[-3000:]
        assert ledger.outcomes.get("OK", 0) == answered > 0, f"other clients were refused: {ledger.outcomes}"
        assert delivery.lost == 0
        assert attack == {"OK": attack.get("OK", 0)}, attack
        assert rss.peak - start_rss < 100 * MIB, f"RSS grew by {(rss.peak - start_rss) / MIB:.0f} MiB"
        assert dropped > 0 and sum(evicted.values()) > 0
    finally:
        await sender.close()
        process.kill()


async def test_one_trace_kept_alive_fast(tmp_path, kafka_bootstrap):
    await live_trace(FAST, tmp_path, kafka_bootstrap)


@pytest.mark.slow
async def test_one_trace_kept_alive_full(tmp_path, kafka_bootstrap):
    await live_trace(FULL, tmp_path, kafka_bootstrap)
