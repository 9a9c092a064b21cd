"""`tokenstream run` with otlp -> redaction -> file: a capture's content never reaches the file.

A second traces pipeline without redaction writes the same data to another file: the control that shows the
content would have been written there.
"""

from __future__ import annotations

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from processor.model import otlp_json
from processor.model.batch import Signal
from processor.processors.redaction.values import HASH_PREFIX
from processor.testing.process import TokenstreamProcess
from tests.e2e.conftest import Ports, file_pipeline
from tests.processors.redaction.captures import CAPTURES, HASH_ENV, HASH_KEY, content_in


def redaction_pipeline(tmp_path, ports: Ports) -> dict:
    config = file_pipeline(tmp_path, ports)
    config["processors"]["redaction"] = {}
    config["processors"]["redaction/hash"] = {"action": "hash", "hash_key_env": HASH_ENV, "summary": True}
    config["exporters"]["file/raw"] = {"path": str(tmp_path / "raw.jsonl")}
    pipelines = config["service"]["pipelines"]
    pipelines["traces"]["processors"] = ["redaction", "batch"]
    pipelines["logs"]["processors"] = ["redaction/hash", "batch"]
    pipelines["traces/raw"] = {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["file/raw"]}
    return config


def test_no_content_of_real_captures_reaches_the_file_output(tmp_path):
    ports = Ports()
    process = TokenstreamProcess(redaction_pipeline(tmp_path, ports), tmp_path, health_port=ports.health,
                                 env={HASH_ENV: HASH_KEY}).start()
    traces = [c for c in CAPTURES if c.signal is Signal.TRACES]
    logs = [c for c in CAPTURES if c.signal is Signal.LOGS]
    try:
        with grpc.insecure_channel(f"127.0.0.1:{ports.grpc}") as channel:
            trace_stub = trace_service_pb2_grpc.TraceServiceStub(channel)
            logs_stub = logs_service_pb2_grpc.LogsServiceStub(channel)
            for capture in traces:
                trace_stub.Export(capture.batch().request, timeout=5)
            for capture in logs:
                logs_stub.Export(capture.batch().request, timeout=5)
        assert process.stop() == 0, process.logs()
    finally:
        process.kill()

    spans, written_logs, raw = (tmp_path / "spans.jsonl").read_bytes(), (tmp_path / "logs.jsonl").read_bytes(), \
        (tmp_path / "raw.jsonl").read_bytes()
    assert content_in(spans) == [] and content_in(written_logs) == []
    assert "You are a terse assistant." in content_in(raw)  # the same spans, unredacted, did carry content

    def items(data: bytes, signal: Signal) -> int:
        requests = [otlp_json.decode(signal, line) for line in data.splitlines() if line.strip()]
        if signal is Signal.TRACES:
            return sum(len(ss.spans) for r in requests for rs in r.resource_spans for ss in rs.scope_spans)
        return sum(len(sl.log_records) for r in requests for rl in r.resource_logs for sl in rl.scope_logs)

    assert items(spans, Signal.TRACES) == items(raw, Signal.TRACES) == sum(c.batch().item_count() for c in traces)
    assert items(written_logs, Signal.LOGS) == sum(c.batch().item_count() for c in logs)
    assert HASH_PREFIX.encode() in written_logs and b"redaction.redacted.keys" in written_logs
    assert b"gen_ai.usage.output_tokens" in spans  # what is not content is still there
