"""The series cap (cardinality_limit, folding into __overflow__) and idle-series expiry (metric_expiration)."""

from __future__ import annotations

import asyncio

from processor.exporters.prometheus.metrics import StreamMetrics
from processor.exporters.prometheus.series import OVERFLOW
from processor.model.records import StreamRecord

TTFT = "gen_ai_server_time_to_first_token_seconds"


def ttft_series(got) -> dict[frozenset, float]:
    return {labels: count for (name, labels), count in got.items() if name == f"{TTFT}_count"}


async def test_ten_thousand_models_leave_the_limit_plus_one_overflow_series(start_exporter, scrape, samples,
                                                                            make_stream, make_batch):
    exporter = await start_exporter()  # the default limit: 1000 label sets per metric
    records = [make_stream(provider="openai", response_model=f"model-{i}", route="/chat", ttft_s=0.1,
                           outcome="completed") for i in range(10_000)]
    for start in range(0, len(records), 500):
        await exporter.consume(make_batch(records[start:start + 500]))
    got = samples((await scrape(exporter))[0])

    series = ttft_series(got)
    assert len(series) == 1000 + 1
    overflow = frozenset({"provider": OVERFLOW, "model": OVERFLOW, "route": OVERFLOW, "tenant": OVERFLOW}.items())
    assert series[overflow] == 9000
    assert sum(series.values()) == 10_000  # folded, never lost
    streams = {labels: v for (name, labels), v in got.items() if name == "llm_streams_total"}
    assert len(streams) == 1001 and sum(streams.values()) == 10_000
    assert streams[overflow | {("outcome", OVERFLOW)}] == 9000
    for metric in (TTFT, "llm_streams"):
        key = ("tokenstream_prometheus_overflow_total", frozenset({"exporter": "prometheus", "metric": metric}.items()))
        assert got[key] == 9000


async def test_idle_series_disappear_after_metric_expiration(start_exporter, scrape, samples, make_stream,
                                                             make_batch):
    # long enough that a loaded machine still scrapes a series well within it (the clock logic: FakeClock below)
    exporter = await start_exporter(metric_expiration="1s")
    await exporter.consume(make_batch([make_stream(route="/old", ttft_s=0.1, outcome="completed")]))
    assert len(ttft_series(samples((await scrape(exporter))[0]))) == 1
    await asyncio.sleep(1.2)
    await exporter.consume(make_batch([make_stream(route="/new", ttft_s=0.1, outcome="completed")]))
    got = samples((await scrape(exporter))[0])
    assert [dict(labels)["route"] for labels in ttft_series(got)] == ["/new"]
    assert [dict(labels)["route"] for (name, labels) in got if name == "llm_streams_total"] == ["/new"]
    assert ("tokenstream_exporter_sent_records_total",
            frozenset({"exporter": "prometheus", "kind": "streams"}.items())) in got  # self-telemetry stays


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _metrics(clock, limit=10, ttl=60.0, overflows=None):
    return StreamMetrics(namespace=None, const_labels={}, limit=limit, ttl=ttl, clock=clock,
                         on_overflow=(overflows if overflows is not None else []).append)


def test_a_series_updated_within_the_expiration_stays_and_an_idle_one_goes():
    clock = FakeClock()
    metrics = _metrics(clock)
    metrics.observe(StreamRecord(ttft_s=0.1), ("p", "busy", "", ""))
    metrics.observe(StreamRecord(ttft_s=0.1), ("p", "idle", "", ""))
    clock.now += 40
    metrics.observe(StreamRecord(ttft_s=0.2), ("p", "busy", "", ""))
    clock.now += 40  # idle untouched for 80s, busy for 40s
    assert sorted(labels[1] for labels, _ in metrics.ttft.items()) == ["busy", "idle"]  # no sweep or scrape yet
    list(metrics.collect())
    assert [(labels[1], sum(series.counts)) for labels, series in metrics.ttft.items()] == [("busy", 2)]


def test_an_expired_label_set_frees_its_place_under_the_limit():
    clock, overflows = FakeClock(), []
    metrics = _metrics(clock, limit=1, ttl=60.0, overflows=overflows)
    metrics.observe(StreamRecord(ttft_s=0.1), ("p", "a", "", ""))
    metrics.observe(StreamRecord(ttft_s=0.1), ("p", "b", "", ""))
    assert overflows == ["gen_ai_server_time_to_first_token_seconds", "llm_streams"]
    clock.now += 61
    metrics.observe(StreamRecord(ttft_s=0.1), ("p", "c", "", ""))
    assert [labels[1] for labels, _ in metrics.ttft.items()] == ["c"]
    assert len(overflows) == 2  # c took the place a left; the overflow series expired too


def test_a_nan_is_unknown_and_a_known_zero_keeps_its_series():
    metrics = _metrics(FakeClock())
    metrics.observe(StreamRecord(ttft_s=float("nan"), cost_usd=float("nan"), stall_count=0,
                                 retried_after_partial=False), ("p", "m", "", ""))
    assert len(metrics.ttft) == 0 and len(metrics.cost) == 0
    assert [s.value for _, s in metrics.stalls.items()] == [0] and [s.value for _, s in metrics.retries.items()] == [0]


async def test_shutdown_without_start_is_harmless(telemetry):
    from processor.component import Kind
    from processor.exporters.prometheus import factory
    from processor.testing import create_settings

    exporter = factory.create(create_settings("prometheus", Kind.EXPORTER, telemetry=telemetry),
                              factory.config_model(endpoint="127.0.0.1:0"), None)
    await exporter.shutdown()
    assert exporter.port is None
