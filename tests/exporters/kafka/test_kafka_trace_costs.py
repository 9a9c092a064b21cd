"""The trace_costs topic: one TraceCost record per rollup, keyed by trace id, in both record encodings."""

from __future__ import annotations

import asyncio
import json

import pytest

from processor.exporters.kafka import KafkaExporterConfig
from processor.kafka import headers as h
from processor.model.batch import Batch, Signal
from processor.model.gen.tokenstream.v1.stream_pb2 import TraceCost
from processor.model.records import from_json_dict, to_json_dict
from tests.support.kafka import consume_records

pytestmark = pytest.mark.kafka


def test_the_topic_has_a_default_name_and_can_be_turned_off():
    assert KafkaExporterConfig().topics.trace_costs == "llm.trace.costs"
    assert KafkaExporterConfig.model_validate({"topics": {"trace_costs": None}}).topics.trace_costs is None


@pytest.mark.parametrize("encoding", ["proto", "json"])
async def test_trace_costs_reach_their_topic(harness, kafka_bootstrap, kafka_topic, encoding):
    topic = kafka_topic("costs")
    exporter = await harness.start({"brokers": [kafka_bootstrap], "encoding": {"records": encoding},
                                    "topics": {"spans": None, "streams": None, "anomalies": None,
                                               "trace_costs": topic}})
    sent = [TraceCost(trace_id=bytes([n]) * 16, route="/chat", tenant="acme", cost_usd=0.01 * n, stream_count=n,
                      retry_count=1, retry_cost_usd=0.005, retry_share=0.5 / n) for n in (1, 2, 3)]
    batch = Batch.empty(Signal.TRACES)  # rollups come in a batch of their own, with an empty request
    batch.trace_costs = sent
    await asyncio.wait_for(exporter.consume(batch), 30)

    records = await consume_records(kafka_bootstrap, topic, len(sent))
    assert len(records) == 3
    content_type = h.JSON if encoding == "json" else h.PROTOBUF
    decoded = []
    for record in records:
        assert h.header(record.headers, h.CONTENT_TYPE) == content_type
        assert h.header(record.headers, h.SCHEMA) == h.TRACE_COST_SCHEMA == "tokenstream.v1.TraceCost"
        message = (from_json_dict(TraceCost, json.loads(record.value)) if encoding == "json"
                   else TraceCost.FromString(record.value))
        assert record.key.decode() == message.trace_id.hex()
        decoded.append(to_json_dict(message))
    assert sorted(decoded, key=lambda d: d["trace_id"]) == [to_json_dict(m) for m in sent]
    assert harness.value("tokenstream_exporter_sent_records_total", exporter="kafka", kind="trace_costs") == 3
