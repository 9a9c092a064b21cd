"""Receipt-to-acknowledgement latency: observed once per received request, after the broker acknowledged it."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.exporters.kafka.conftest import make_batch, make_request
from tests.support.kafka import consume_records

pytestmark = pytest.mark.kafka

_METRIC = "tokenstream_exporter_receipt_to_ack_seconds"


async def test_each_merged_request_is_observed_from_its_own_receipt(harness, kafka_bootstrap, kafka_topic):
    topics = {"spans": kafka_topic("spans"), "streams": None, "anomalies": None, "trace_costs": None}
    exporter = await harness.start({"brokers": [kafka_bootstrap], "topics": topics})
    batch = make_batch(make_request(traces=2, spans_per_trace=1))
    now = time.monotonic_ns()
    batch.received_ns = [now - 2_000_000_000, now]  # two requests merged by the batch processor: one 2 s ago
    await asyncio.wait_for(exporter.consume(batch), 30)
    assert len(await consume_records(kafka_bootstrap, topics["spans"], 2)) == 2
    assert harness.value(f"{_METRIC}_count", exporter="kafka") == 2
    assert harness.value(f"{_METRIC}_bucket", exporter="kafka", le="1.0") == 1  # only the fresh one under 1 s
    assert 2.0 <= harness.value(f"{_METRIC}_sum", exporter="kafka") < 2.0 + 2 * 30


async def test_a_batch_without_receipt_time_is_not_observed(harness, kafka_bootstrap, kafka_topic):
    topics = {"spans": kafka_topic("spans"), "streams": None, "anomalies": None, "trace_costs": None}
    exporter = await harness.start({"brokers": [kafka_bootstrap], "topics": topics})
    await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=1))), 30)  # e.g. a background flush
    assert harness.value(f"{_METRIC}_count", exporter="kafka") == 0
