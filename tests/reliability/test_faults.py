"""Faults under load: the broker cut off and restored, kill -9 with the persistent queue, SIGTERM.

"Lost" counts spans the receiver acknowledged (answered OK) that never reached the spans topic.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass

import pytest

from tests.reliability.client import GrpcSender, Ledger, SteadyLoad
from tests.reliability.figures import Row, record
from tests.reliability.observe import MIB, RssSampler, compare, spans_on_topic
from tests.reliability.pipeline import Ports, Topics, default_pipeline, start_tokenstream
from tests.reliability.traffic import Traffic

pytestmark = pytest.mark.kafka


@dataclass
class Size:
    outage: float
    load: float
    full: bool


FAST = Size(outage=5, load=3, full=False)
FULL = Size(outage=30, load=10, full=True)


async def broker_cut(size: Size, tmp_path, flaky) -> None:
    ports, topics = Ports(), Topics.unique()
    process = start_tokenstream(tmp_path, default_pipeline(tmp_path, ports, flaky.bootstrap, topics), ports)
    ledger = Ledger()
    sender = GrpcSender(ports.grpc, ledger, timeout=20.0)
    try:
        with RssSampler(process.proc.pid) as rss:
            load = SteadyLoad(sender, Traffic()).start()
            await asyncio.sleep(size.load)
            await asyncio.to_thread(flaky.proxy.stop)
            await asyncio.sleep(size.outage)
            await asyncio.to_thread(flaky.proxy.start)
            restored = time.monotonic()
            await asyncio.sleep(size.load)
            await load.stop()
            seen = await spans_on_topic(flaky.bootstrap, topics.spans, len(set(ledger.acknowledged)), timeout=120)
            recovery = time.monotonic() - restored - size.load
        delivery = compare(ledger.acknowledged, seen)
        record(Row("broker cut under load", f"{size.outage:.0f} s network cut to the broker, {size.load:.0f} s load "
                   "before and after, 4 closed-loop clients", lost=delivery.lost, duplicated=delivery.duplicated,
                   refused=ledger.refused_spans, peak_rss_mib=round(rss.peak / MIB, 1),
                   recovery_s=round(max(recovery, 0.0), 1),
                   other={"acknowledged spans": len(set(ledger.acknowledged)), "answers": dict(ledger.outcomes)}),
               full_size=size.full)
        assert process.proc.poll() is None, process.logs()[-3000:]
        assert ledger.acknowledged, "nothing was acknowledged"
        assert delivery.lost == 0
    finally:
        await sender.close()
        process.kill()


async def test_broker_cut_fast(tmp_path, flaky_kafka):
    await broker_cut(FAST, tmp_path, flaky_kafka)


@pytest.mark.slow
async def test_broker_cut_full(tmp_path, flaky_kafka):
    await broker_cut(FULL, tmp_path, flaky_kafka)


async def kill_and_restart(size: Size, tmp_path, bootstrap: str) -> None:
    ports, topics = Ports(), Topics.unique()
    queue = {"sending_queue": {"storage": {"directory": str(tmp_path / "queue")}}}
    config = default_pipeline(tmp_path, ports, bootstrap, topics, kafka=queue)
    process = start_tokenstream(tmp_path, config, ports, name="first")
    ledger = Ledger()
    sender = GrpcSender(ports.grpc, ledger, timeout=20.0)
    try:
        load = SteadyLoad(sender, Traffic()).start()
        await asyncio.sleep(size.load)
        os.kill(process.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        await load.stop()
        process.kill()
        process = start_tokenstream(tmp_path, config, ports, name="second")
        restarted = time.monotonic() - killed
        load = SteadyLoad(sender, Traffic(seed=9)).start()
        await asyncio.sleep(size.load)
        await load.stop()
        seen = await spans_on_topic(bootstrap, topics.spans, len(set(ledger.acknowledged)), timeout=60)
        delivery = compare(ledger.acknowledged, seen)
        record(Row("kill -9 and restart", f"persistent sending queue, {size.load:.0f} s load before the kill and "
                   "after the restart", lost=delivery.lost, duplicated=delivery.duplicated,
                   refused=ledger.refused_spans, recovery_s=round(restarted, 1),
                   other={"acknowledged spans": len(set(ledger.acknowledged)), "answers": dict(ledger.outcomes)}),
               full_size=size.full)
        assert delivery.lost == 0
    finally:
        await sender.close()
        process.kill()


async def test_kill_9_fast(tmp_path, kafka_bootstrap):
    await kill_and_restart(FAST, tmp_path, kafka_bootstrap)


@pytest.mark.slow
async def test_kill_9_full(tmp_path, kafka_bootstrap):
    await kill_and_restart(FULL, tmp_path, kafka_bootstrap)


async def sigterm(size: Size, tmp_path, bootstrap: str) -> None:
    ports, topics = Ports(), Topics.unique()
    config = default_pipeline(tmp_path, ports, bootstrap, topics)
    grace = float(config["service"].get("shutdown_timeout", 30))
    process = start_tokenstream(tmp_path, config, ports)
    ledger = Ledger()
    sender = GrpcSender(ports.grpc, ledger, timeout=20.0)
    try:
        load = SteadyLoad(sender, Traffic()).start()
        await asyncio.sleep(size.load)
        started = time.monotonic()
        process.proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.proc.wait, grace + 15)
        took = time.monotonic() - started
        await load.stop()
        seen = await spans_on_topic(bootstrap, topics.spans, len(set(ledger.acknowledged)), timeout=30)
        delivery = compare(ledger.acknowledged, seen)
        record(Row("SIGTERM under load", f"{size.load:.0f} s load, then SIGTERM; grace {grace:.0f} s",
                   lost=delivery.lost, duplicated=delivery.duplicated, refused=ledger.refused_spans,
                   recovery_s=round(took, 1),
                   other={"exit code": code, "acknowledged spans": len(set(ledger.acknowledged))}),
               full_size=size.full)
        assert code == 0, process.logs()[-3000:]
        assert took <= grace
        assert delivery.lost == 0
    finally:
        await sender.close()
        process.kill()


async def test_sigterm_fast(tmp_path, kafka_bootstrap):
    await sigterm(FAST, tmp_path, kafka_bootstrap)


@pytest.mark.slow
async def test_sigterm_full(tmp_path, kafka_bootstrap):
    await sigterm(FULL, tmp_path, kafka_bootstrap)
