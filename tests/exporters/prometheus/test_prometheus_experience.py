"""The user-experience metrics: SLO breach gauge, feedback, reconnects and cost per trace, scraped for real."""

from __future__ import annotations

import math

from processor.model.batch import Batch, Signal
from processor.model.gen.tokenstream.v1.stream_pb2 import SloStatus, StreamFeedback, TraceCost


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


async def test_experience_metrics_show_what_the_batches_carry(start_exporter, scrape, samples, make_stream,
                                                             make_batch):
    exporter = await start_exporter()
    batch = make_batch([make_stream(session_id="s", outcome="aborted"),
                        make_stream(session_id="s", reconnect_of=b"\x01" * 8),
                        make_stream(session_id="t", reconnect_of=b"\x02" * 8)])
    batch.slo_status = [SloStatus(route="/chat", request_model="gpt-4o", breached=True),
                        SloStatus(route="/sum", request_model="claude", breached=False)]
    batch.trace_costs = [TraceCost(trace_id=b"\x01" * 16, route="/chat", cost_usd=0.004),
                         TraceCost(trace_id=b"\x02" * 16, route="/chat", cost_usd=0.3),
                         TraceCost(trace_id=b"\x03" * 16, route="/chat")]  # unpriced: not observed
    await exporter.consume(batch)
    logs = Batch.empty(Signal.LOGS)  # feedback joined in the logs pipeline arrives without stream records
    logs.feedback = [StreamFeedback(experience=e, verdict=v) for e, v in
                     [("normal", "up")] * 3 + [("normal", "down"), ("stalled", "down"), ("stalled", "down"),
                                               ("stalled", "up")]]
    await exporter.consume(logs)
    recovered = make_batch([])
    recovered.slo_status = [SloStatus(route="/chat", request_model="gpt-4o", breached=False)]
    await exporter.consume(recovered)

    text, _ = await scrape(exporter)
    found = samples(text)
    assert "# TYPE llm_stream_slo_breached gauge" in text
    assert value(found, "llm_stream_slo_breached", route="/chat", model="gpt-4o") == 0
    assert value(found, "llm_stream_slo_breached", route="/sum", model="claude") == 0
    assert value(found, "llm_stream_reconnects_total") == 2
    feedback = {e + "/" + v: value(found, "llm_stream_feedback_total", experience=e, verdict=v)
                for e in ("normal", "stalled") for v in ("up", "down")}
    assert feedback == {"normal/up": 3, "normal/down": 1, "stalled/up": 1, "stalled/down": 2}
    assert value(found, "llm_trace_cost_usd_count", route="/chat") == 2
    assert math.isclose(value(found, "llm_trace_cost_usd_sum", route="/chat"), 0.304)
    assert value(found, "llm_trace_cost_usd_bucket", route="/chat", le="0.005") == 1
    assert value(found, "llm_trace_cost_usd_bucket", route="/chat", le="0.5") == 2


async def test_the_gauge_is_one_while_breached_and_the_namespace_applies(start_exporter, scrape, samples,
                                                                        make_batch):
    exporter = await start_exporter(namespace="acme", const_labels={"env": "prod"})
    batch = make_batch([])
    batch.slo_status = [SloStatus(route="/chat", request_model="gpt-4o", breached=True)]
    await exporter.consume(batch)
    text, _ = await scrape(exporter)
    assert value(samples(text), "acme_llm_stream_slo_breached", env="prod", route="/chat", model="gpt-4o") == 1
