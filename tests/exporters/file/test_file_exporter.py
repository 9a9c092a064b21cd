from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from processor.component import Kind
from processor.exporters.file import factory
from processor.model import otlp_json, records
from processor.model.batch import Batch, Signal
from processor.model.gen.tokenstream.v1.stream_pb2 import StreamAnomaly, StreamRecord
from processor.service.host import Host
from processor.testing import create_settings


def sdk_spans(count: int) -> Batch:
    """Spans as a real app makes them: the OTel SDK, encoded by its own OTLP encoder."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test.app")
    for i in range(count):
        with tracer.start_as_current_span(f"chat gpt-4o {i}") as span:
            span.set_attribute("gen_ai.request.model", "gpt-4o")
            span.add_event("gen_ai.content.completion.chunk", {"gen_ai.completion.chunk": "Hel"})
    return Batch(Signal.TRACES, encode_spans(memory.get_finished_spans()))


async def started(config: dict):
    settings = create_settings("file", Kind.EXPORTER)
    exporter = factory.create(settings, factory.config_model.model_validate(config), None)
    await exporter.start(Host(settings.telemetry))
    return exporter, settings.telemetry


def sent(telemetry, kind: str) -> float:
    return telemetry.registry.get_sample_value("tokenstream_exporter_sent_records_total",
                                               {"exporter": "file", "kind": kind}) or 0


async def test_spans_are_written_as_otlp_json_requests_one_per_line(tmp_path):
    path = tmp_path / "deep" / "er" / "spans.jsonl"  # parent directories are created
    exporter, telemetry = await started({"path": str(path)})
    batches = [sdk_spans(2), sdk_spans(3)]
    for batch in batches:
        await exporter.consume(batch)
    await exporter.shutdown()
    lines = path.read_bytes().splitlines()
    assert [otlp_json.decode(Signal.TRACES, line) for line in lines] == [b.request for b in batches]
    first = json.loads(lines[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert first["traceId"] == batches[0].request.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
    assert sent(telemetry, "spans") == 5


async def test_log_records_in_a_logs_pipeline(tmp_path):
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add(event_name="gen_ai.choice")
    record.span_id = bytes.fromhex("00f067aa0ba902b7")
    exporter, telemetry = await started({"path": str(tmp_path / "logs.jsonl"), "kind": "otlp"})
    await exporter.consume(Batch(Signal.LOGS, request))
    await exporter.shutdown()
    line = (tmp_path / "logs.jsonl").read_bytes()
    assert otlp_json.decode(Signal.LOGS, line) == request
    assert b'"spanId":"00f067aa0ba902b7"' in line
    assert sent(telemetry, "log_records") == 1


@pytest.mark.parametrize("kind", ["streams", "anomalies"])
async def test_stream_records_and_anomalies_one_per_line(tmp_path, kind):
    stream = StreamRecord(trace_id=bytes(range(16)), span_id=bytes(range(8)), ttft_s=0.25, chunk_count=12,
                          outcome="completed")
    anomaly = StreamAnomaly(trace_id=bytes(range(16)), span_id=bytes(range(8)), kind="stall", detail="3.1s gap")
    batch = sdk_spans(1)
    batch.streams += [stream, stream]
    batch.anomalies.append(anomaly)
    exporter, telemetry = await started({"path": str(tmp_path / "out.jsonl"), "kind": kind})
    await exporter.consume(batch)
    await exporter.consume(sdk_spans(1))  # nothing of this kind: no line
    await exporter.shutdown()
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    expected, cls = ([stream, stream], StreamRecord) if kind == "streams" else ([anomaly], StreamAnomaly)
    assert [records.from_json_dict(cls, row) for row in rows] == expected
    assert rows[0]["trace_id"] == bytes(range(16)).hex()
    assert sent(telemetry, kind) == len(expected)


async def test_flush_interval_buffers_and_shutdown_writes_the_rest(tmp_path):
    path = tmp_path / "spans.jsonl"
    exporter, _ = await started({"path": str(path), "flush_interval": "20ms"})
    await exporter.consume(sdk_spans(1))
    async with asyncio.timeout(5):
        while not path.read_bytes():
            await asyncio.sleep(0.01)
    slow, _ = await started({"path": str(tmp_path / "slow.jsonl"), "flush_interval": "1h"})
    await slow.consume(sdk_spans(1))
    assert (tmp_path / "slow.jsonl").read_bytes() == b""
    await slow.shutdown()
    await exporter.shutdown()
    assert len((tmp_path / "slow.jsonl").read_bytes().splitlines()) == 1


async def test_rotation_moves_full_files_aside(tmp_path):
    path = tmp_path / "spans.jsonl"
    exporter, _ = await started({"path": str(path), "rotation": {"max_megabytes": 1, "max_backups": 2}})
    big = sdk_spans(200)  # ~100 KB a line
    line_size = len(otlp_json.encode(big.request)) + 1
    lines = (4 * 2**20) // line_size
    for _ in range(lines):
        await exporter.consume(big)
    await exporter.shutdown()
    backups = sorted(p for p in tmp_path.iterdir() if p != path)
    assert len(backups) == 2  # the older ones were deleted
    for file in [*backups, path]:
        assert file.stat().st_size <= 2**20
        assert all(otlp_json.decode(Signal.TRACES, line) == big.request for line in file.read_bytes().splitlines())


async def test_a_path_that_cannot_be_opened_fails_start(tmp_path):
    with pytest.raises(IsADirectoryError):
        await started({"path": str(tmp_path)})
