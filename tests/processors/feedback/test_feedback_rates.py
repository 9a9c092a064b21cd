"""Feedback counted by experience class and verdict on a real /metrics scrape, and the thumbs-down rate per
class computed from those counters (as a dashboard would: down / (up + down))."""

from __future__ import annotations

import random

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from processor.component import Kind
from processor.exporters.prometheus import factory as prometheus
from processor.processors.feedback.config import FeedbackConfig
from processor.processors.feedback.reading import FeedbackReader, thumbs_verdict
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings
from tests.conventions.spans import any_value
from tests.processors.feedback.conftest import (
    T0,
    S,
    feedback_log,
    feedback_span,
    logs_batch,
    make_pair,
    spans_batch,
    stream,
)

#: experience -> (streams, thumbs-down share) of the synthetic traffic.
PLAN = {"normal": (40, 0.1), "slow_first_token": (20, 0.4), "stalled": (10, 0.5), "truncated": (10, 0.7),
        "aborted": (20, 0.8)}
FIELDS = {"normal": {"ttft_s": 0.3}, "slow_first_token": {"ttft_s": 4.0}, "stalled": {"stalled": True},
          "truncated": {"outcome": "truncated"}, "aborted": {"outcome": "aborted"}}


async def scrape(port: int) -> dict:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
            session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_thumbs_down_rate_per_experience_class_from_the_counters():
    telemetry = SelfTelemetry()
    exporter = prometheus.create(create_settings("prometheus", Kind.EXPORTER, telemetry=telemetry),
                                 prometheus.config_model.model_validate({"endpoint": "127.0.0.1:0"}), None)
    await exporter.start(Host(telemetry))
    try:
        traces_feedback, logs_feedback, _ = make_pair(slow_ttft="2s")
        traces_feedback.next = logs_feedback.next = exporter  # both pipelines end in the exporter
        rng, n, records, spans, logs = random.Random(5), 0, [], [], []
        expected = {}
        for experience, (count, down_share) in PLAN.items():
            downs = round(count * down_share)
            expected[experience] = (count - downs, downs)
            for i in range(count):
                n += 1
                records.append(stream(n, start_s=n, end_s=n + 1, session=f"s{n}", **FIELDS[experience]))
                thumbs = "down" if i < downs else "up"
                if rng.random() < 0.5:  # half by trace (span event), half by session (log record, own trace)
                    spans.append(feedback_span(bytes([n]) * 16, b"\xfe" * 8, time=T0 + (n + 2) * S,
                                               feedback_thumbs=thumbs))
                else:
                    logs.append(feedback_log(time=T0 + (n + 2) * S, trace_id=b"\xfd" * 16, session_id=f"s{n}",
                                             feedback_thumbs=thumbs))
        await traces_feedback.consume(spans_batch(streams=records))
        await traces_feedback.consume(spans_batch(*spans))
        await logs_feedback.consume(logs_batch(*logs))
        found = await scrape(exporter.port)
    finally:
        await exporter.shutdown()

    def counter(experience: str, verdict: str) -> float:
        key = ("llm_stream_feedback_total", (("experience", experience), ("verdict", verdict)))
        return found.get(key, 0.0)

    for experience, (ups, downs) in expected.items():
        assert (counter(experience, "up"), counter(experience, "down")) == (ups, downs), experience
        rate = counter(experience, "down") / (counter(experience, "up") + counter(experience, "down"))
        assert rate == pytest.approx(PLAN[experience][1], abs=0.01)


@pytest.mark.parametrize(("value", "verdict"), [
    ("up", "up"), ("Down", "down"), ("1", "up"), ("-1", "down"), ("+1", "up"), (True, "up"), (False, "down"),
    (1, "up"), (-1, "down"), (0, None), ("meh", None), (0.5, "up")])
def test_thumbs_values(value, verdict):
    assert thumbs_verdict(any_value(value)) == verdict


def test_a_score_is_split_at_down_at_most_and_thumbs_win_over_it():
    reader = FeedbackReader(FeedbackConfig(score_attribute="rating", down_at_most=2))
    scores = [feedback_log(time=T0, rating=r) for r in (1, 2, 3, "5")]
    both = feedback_log(time=T0, rating=5, feedback_thumbs="down")
    renamed = feedback_log(time=T0, name="app.rating", rating=1)
    read = list(reader.from_logs(logs_batch(*scores, both, renamed).request))
    assert [(f.verdict, f.score) for f in read] == [("down", 1), ("down", 2), ("up", 3), ("up", 5), ("down", 5)]
