"""Stream metrics across worker processes: snapshots published by each worker, summed on the serving side."""

from __future__ import annotations

import math
import os

import aiohttp
from prometheus_client import CollectorRegistry, generate_latest

from processor.component import Kind
from processor.exporters.prometheus import factory
from processor.exporters.prometheus.merged import MergedStreamMetrics, merged_server
from processor.exporters.prometheus.metrics import StreamMetrics
from processor.exporters.prometheus.series import OVERFLOW
from processor.exporters.prometheus.snapshot import merge_into, publish, read_snapshots, to_snapshot
from processor.service.host import Host
from processor.service.workers import ENV_COUNT, ENV_DIR, ENV_INDEX, current_worker, snapshots_dir
from processor.testing import create_settings
from tests.exporters.prometheus.conftest import samples_of
from tests.exporters.prometheus.test_prometheus_scrape import chat_records, summarize_records

LABELS = ("openai", "gpt-4o", "/chat", "acme")


class _Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def metrics(*, limit: int = 100, ttl: float = 300.0, clock=None, overflows: list | None = None) -> StreamMetrics:
    return StreamMetrics(namespace=None, const_labels={"env": "test"}, limit=limit, ttl=ttl,
                         on_overflow=(overflows.append if overflows is not None else lambda _m: None),
                         clock=clock or _Clock())


def exposition(collector) -> dict:
    class _One:
        def collect(self):
            return collector.collect()

    registry = CollectorRegistry()
    registry.register(_One())
    return samples_of(generate_latest(registry).decode())


def observe_all(target: StreamMetrics, records) -> None:
    for record in records:
        target.observe(record, (record.provider, record.response_model or record.request_model, record.route,
                                record.tenant))


def test_the_sum_of_two_workers_snapshots_is_what_one_process_would_show(make_stream):
    records = chat_records(make_stream) + summarize_records(make_stream)
    first, second, alone = metrics(), metrics(), metrics()
    observe_all(first, records[::2])
    observe_all(second, records[1::2])
    observe_all(alone, records)

    merged = metrics()
    merge_into(merged, [to_snapshot(first), to_snapshot(second)])

    assert exposition(merged) == exposition(alone)
    assert exposition(merged)[("llm_streams_total", frozenset({("env", "test"), ("provider", "openai"),
                                                               ("model", "gpt-4o"), ("route", "/chat"),
                                                               ("tenant", "acme"), ("outcome", "completed")}))] == 3


def test_series_idle_longer_than_the_expiration_are_left_out_of_the_sum(make_stream):
    clock = _Clock(50.0)
    worker = metrics(ttl=60.0, clock=clock)
    worker.observe(make_stream(provider="openai", outcome="completed"), LABELS)
    clock.now = 100.0
    worker.observe(make_stream(provider="openai", outcome="error"), LABELS)
    snapshot = to_snapshot(worker, wall=10_000.0)  # the first series was last updated at wall 9950

    merged = metrics(ttl=60.0)
    merge_into(merged, [snapshot], wall=10_005.0)
    outcomes = {dict(labels)["outcome"] for (name, labels) in exposition(merged) if name == "llm_streams_total"}
    assert outcomes == {"completed", "error"}

    merged = metrics(ttl=60.0)
    merge_into(merged, [snapshot], wall=10_015.0)  # 65s after the first, 15s after the second
    outcomes = {dict(labels)["outcome"] for (name, labels) in exposition(merged) if name == "llm_streams_total"}
    assert outcomes == {"error"}


def test_the_cardinality_limit_holds_for_the_sum_and_overflows_stay_one_series(make_stream):
    first, second = metrics(limit=2), metrics(limit=2)
    for worker, routes in ((first, ["/a", "/b", "/c"]), (second, ["/d", "/e"])):
        for route in routes:
            worker.observe(make_stream(outcome="completed"), ("p", "m", route, "t"))
    merged = metrics(limit=2)
    merge_into(merged, [to_snapshot(first), to_snapshot(second)])

    streams = {dict(labels)["route"]: value for (name, labels), value in exposition(merged).items()
               if name == "llm_streams_total"}
    assert streams == {"/a": 1, "/b": 1, OVERFLOW: 3}  # /c folded by worker one, /d and /e by the sum


def test_a_published_snapshot_is_read_back_and_an_expired_one_removed(tmp_path, make_stream):
    worker = metrics()
    worker.observe(make_stream(outcome="completed", ttft_s=0.2), LABELS)
    publish(worker, tmp_path, "111")
    assert [p.name for p in tmp_path.iterdir()] == ["111.json"]  # written atomically: no temporary left

    (written,) = read_snapshots(tmp_path, ttl=300.0)
    assert written["families"]["llm_streams"][0][0] == [*LABELS, "completed"]
    assert list(read_snapshots(tmp_path, ttl=300.0, wall=written["written"] + 301)) == []
    assert list(tmp_path.iterdir()) == []


async def test_an_exporter_in_a_worker_publishes_instead_of_listening_and_the_merged_endpoint_sums(
        tmp_path, monkeypatch, make_stream, make_batch, telemetry):
    monkeypatch.setenv(ENV_INDEX, "0")
    monkeypatch.setenv(ENV_COUNT, "2")
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    current_worker.cache_clear()
    try:
        config = factory.config_model.model_validate({"endpoint": "127.0.0.1:0"})
        exporter = factory.create(create_settings("prometheus", Kind.EXPORTER, telemetry=telemetry), config, None)
        await exporter.start(Host(telemetry))
        assert exporter.port is None  # the supervisor serves /metrics, not the worker
        await exporter.consume(make_batch(chat_records(make_stream)))
        await exporter.shutdown()  # publishes what it has, whatever the interval
    finally:
        monkeypatch.delenv(ENV_INDEX)
        current_worker.cache_clear()
    directory = snapshots_dir(tmp_path, "prometheus")
    assert [p.name for p in directory.iterdir()] == [f"{os.getpid()}.json"]
    other = metrics()
    observe_all(other, summarize_records(make_stream))
    publish(other, directory, "other-worker")

    server = merged_server(config, directory, CollectorRegistry())
    await server.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
                session.get(f"http://127.0.0.1:{server.port}/metrics") as response:
            scraped = samples_of(await response.text())
    finally:
        await server.stop()
    counts = {dict(labels)["provider"]: value for (name, labels), value in scraped.items()
              if name == "gen_ai_server_time_to_first_token_seconds_count"}
    assert counts == {"openai": 5, "anthropic": 2}
    assert math.isclose(sum(v for (name, _), v in scraped.items() if name == "llm_streams_total"), 8)
    assert list(MergedStreamMetrics(config, tmp_path / "nothing-here").collect())  # empty families, no error
