"""slo over synthetic traffic with a known p95 shift: one anomaly when the breach begins, one when it ends."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from processor.processors.slo.config import SloConfig
from processor.processors.slo.window import p95
from tests.processors.slo.conftest import T0, S, feed, make_slo, traffic

CHAT = {"thresholds": [{"route": "/v1/chat", "model": "*", "p95_ttft": "800ms"}], "window": "5m",
        "min_streams": 20}


def slow_first_token(anomalies):
    return [a for a in anomalies if a.kind == "slow_first_token"]


async def test_a_p95_shift_gives_exactly_one_start_and_one_end_anomaly():
    processor, sink = make_slo(**CHAT)
    # 10 min at ~0.3 s, 10 min at ~1.5 s, 15 min back at ~0.3 s: one breach, one recovery.
    await feed(processor, traffic([(600, 0.3), (600, 1.5), (900, 0.3)]))

    found = slow_first_token(sink.anomalies)
    assert [a.severity for a in found] == ["warning", "info"]
    start, end = found
    shift_up, shift_down = T0 + 600 * S, T0 + 1200 * S
    # The breach begins once more than 5% of the 5 min window is slow, and ends once 95% of it is fast again.
    assert shift_up < start.time_unix_nano < shift_up + 60 * S
    assert shift_down + 240 * S < end.time_unix_nano < shift_down + 320 * S
    for anomaly in found:
        assert anomaly.trace_id == b"" and anomaly.span_id == b""  # route level: no span
        assert (anomaly.route, anomaly.request_model) == ("/v1/chat", "gpt-4o")
        assert "5m" in anomaly.detail and "0.800 s" in anomaly.detail and "/v1/chat" in anomaly.detail
    assert "recovered" in end.detail and "recovered" not in start.detail
    observed = float(start.detail.split("p95 time to first token ")[1].split(" s")[0])
    assert observed > 0.8


async def test_statuses_follow_the_breach_for_the_gauge():
    processor, sink = make_slo(**CHAT)
    await feed(processor, traffic([(400, 0.3), (400, 1.5)]))
    statuses = [s for b in sink.batches for s in b.slo_status]
    assert statuses[0].breached is False and statuses[-1].breached is True
    assert statuses[-1].threshold_s == pytest.approx(0.8)
    assert 295 <= statuses[-1].streams <= 305  # about one a second over 5 minutes (end times vary with ttft)
    assert {(s.route, s.request_model) for s in statuses} == {("/v1/chat", "gpt-4o")}


async def test_a_steady_route_and_too_few_streams_raise_nothing():
    processor, sink = make_slo(**{**CHAT, "min_streams": 50})
    steady = traffic([(900, 0.5)], route="/v1/chat")
    sparse = traffic([(40, 3.0)], route="/v1/chat", model="rare-model", seed=3)  # slow, but under min_streams
    await feed(processor, sorted(steady + sparse, key=lambda r: r.end_time_unix_nano))
    assert slow_first_token(sink.anomalies) == []


async def test_records_without_ttft_are_not_samples():
    processor, sink = make_slo(**{**CHAT, "min_streams": 1})
    records = traffic([(30, 2.0)])
    for record in records:
        record.ClearField("ttft_s")
    await feed(processor, records)
    assert sink.anomalies == [] and not any(b.slo_status for b in sink.batches)
    assert len(sink.streams) == 30  # passed on untouched


async def test_an_automatic_baseline_catches_a_shift_without_a_configured_threshold():
    processor, sink = make_slo(baseline_factor=2.0, baseline_window="10m", window="1m", min_streams=20)
    # 15 min at ~0.2 s builds the baseline (p95 about 0.24 s, so a threshold about 0.48 s); then ~1.0 s.
    await feed(processor, traffic([(900, 0.2), (45, 1.0), (600, 0.2)]))
    found = slow_first_token(sink.anomalies)
    assert [a.severity for a in found] == ["warning", "info"]
    assert "baseline p95 x 2 over 10m" in found[0].detail
    assert T0 + 900 * S < found[0].time_unix_nano < T0 + 945 * S


async def test_a_default_threshold_applies_to_unlisted_routes():
    processor, sink = make_slo(default_p95_ttft="1s", min_streams=10, window="1m")
    await feed(processor, traffic([(120, 2.0)], route="/other"))
    found = slow_first_token(sink.anomalies)
    assert len(found) == 1 and found[0].route == "/other" and "(default)" in found[0].detail


def test_the_most_specific_threshold_wins():
    config = SloConfig.model_validate({"thresholds": [
        {"p95_ttft": "2s"}, {"model": "gpt-4o", "p95_ttft": "1.5s"}, {"route": "/a", "p95_ttft": "1s"},
        {"route": "/a", "model": "gpt-4o", "p95_ttft": "500ms"}]})
    assert config.threshold_for("/a", "gpt-4o") == 0.5
    assert config.threshold_for("/a", "other") == 1.0
    assert config.threshold_for("/b", "gpt-4o") == 1.5
    assert config.threshold_for("/b", "other") == 2.0
    assert SloConfig().threshold_for("/a", "m") is None


def test_bad_config_is_reported():
    with pytest.raises(ValidationError, match="not a duration"):
        SloConfig.model_validate({"thresholds": [{"route": "/a", "p95_ttft": "fast"}]})
    with pytest.raises(ValidationError, match="window must be more than 0"):
        SloConfig.model_validate({"window": 0})
    with pytest.raises(ValidationError, match="Extra inputs"):
        SloConfig.model_validate({"thresholds": [{"route": "/a", "p95": "1s"}]})


def test_p95_is_the_nearest_rank():
    assert p95(range(1, 101)) == 95
    assert p95([3.0]) == 3.0
    assert p95([1, 2]) == 2
