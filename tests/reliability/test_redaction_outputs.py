"""Redaction reaches every output: real captures of every instrumentation posted to the default pipeline, then
every Kafka topic, every file and every metric label searched for the prompts, completions and leaked headers."""

from __future__ import annotations

import urllib.request

import pytest

from tests.data.realclients import LIBRARIES, load_capture, scenarios
from tests.reliability.figures import Row, record
from tests.reliability.observe import scrape, wait_until
from tests.reliability.pipeline import Ports, Topics, default_pipeline, start_tokenstream
from tests.support.kafka import consume_records

pytestmark = pytest.mark.kafka
#: The capture harness's prompts, and the request header OpenLLMetry leaks into gen_ai.headers.
REQUEST_TEXTS = ("You are a terse assistant.", "Explain token streaming in one paragraph.", "X-Fake-Config")


def captures():
    return [load_capture(lib, scenario) for lib in LIBRARIES for scenario in scenarios(lib)]


def secret_texts(all_captures) -> set[str]:
    """The prompts, each whole completion, and its chunks of 12+ characters (shorter ones, " chunk" or " tokens",
    also occur in attribute and metric names)."""
    texts = set(REQUEST_TEXTS)
    for capture in all_captures:
        chunks = [e.get("content") or "" for e in capture.client("chunk_received")]
        texts |= {chunk for chunk in chunks if len(chunk) >= 12}
        if len("".join(chunks)) >= 12:
            texts.add("".join(chunks))
    return texts


def post(port: int, path: str, body: bytes) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                     headers={"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


async def test_no_redacted_value_reaches_any_output(tmp_path, kafka_bootstrap):
    ports, topics = Ports(), Topics.unique()
    config = default_pipeline(tmp_path, ports, kafka_bootstrap, topics, processors={
        "stream": {"wait": "500ms"}, "trace_cost": {"wait": "500ms"}})
    all_captures = captures()
    texts = secret_texts(all_captures)
    sent = [request.SerializeToString() for c in all_captures for request in c.traces]
    sent_logs = [request.SerializeToString() for c in all_captures for request in c.logs]
    # The control: the content is there to be redacted, so not finding it later means something.
    assert sum(any(t.encode() in body for t in texts) for body in sent + sent_logs) >= len(LIBRARIES)
    process = start_tokenstream(tmp_path, config, ports)
    try:
        statuses = [post(ports.http, "/v1/traces", body) for body in sent]
        statuses += [post(ports.http, "/v1/logs", body) for body in sent_logs]
        assert set(statuses) == {200}
        streams = tmp_path / "streams.jsonl"
        assert wait_until(lambda: streams.exists() and streams.stat().st_size > 0, timeout=30) is not None
        code = process.stop()
        outputs: dict[str, bytes] = {}
        for topic in topics.all():
            records = await consume_records(kafka_bootstrap, topic, 1, timeout=5, settle=1.0)
            outputs[topic] = b"".join((r.key or b"") + (r.value or b"") + b"".join(v for _, v in r.headers)
                                      for r in records)
        for path in sorted(tmp_path.glob("*.jsonl")):
            outputs[path.name] = path.read_bytes()
        leaks = {name: [t for t in texts if t.encode() in data] for name, data in outputs.items()}
        leaks = {name: found for name, found in leaks.items() if found}
        record(Row("redaction reaches every output", f"{len(all_captures)} real captures ({len(sent)} trace and "
                   f"{len(sent_logs)} log requests), {len(texts)} secret texts searched",
                   other={"outputs searched": len(outputs) + 2, "leaks": sum(len(v) for v in leaks.values())}),
                   full_size=False)
        assert code == 0
        assert outputs[topics.spans] and outputs[topics.streams] and outputs["streams.jsonl"]
        assert leaks == {}
    finally:
        process.kill()


async def test_no_redacted_value_reaches_a_metric_label(tmp_path, kafka_bootstrap):
    ports, topics = Ports(), Topics.unique()
    config = default_pipeline(tmp_path, ports, kafka_bootstrap, topics, processors={
        "stream": {"wait": "500ms"}})
    all_captures = captures()
    texts = secret_texts(all_captures)
    process = start_tokenstream(tmp_path, config, ports)
    try:
        for capture in all_captures:
            for request in capture.traces:
                assert post(ports.http, "/v1/traces", request.SerializeToString()) == 200

        def streams_counted() -> bool:
            return "llm_streams_total{" in scrape(ports.prometheus)
        assert wait_until(streams_counted, timeout=30) is not None
        pages = {"prometheus": scrape(ports.prometheus), "self-telemetry": scrape(ports.metrics)}
        leaks = {name: [t for t in texts if t in page] for name, page in pages.items()}
        assert leaks == {"prometheus": [], "self-telemetry": []}
    finally:
        process.kill()
