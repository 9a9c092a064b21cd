"""`tokenstream run` as a user runs it: real SDK exporters in, the file exporter's output checked."""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import subprocess
import threading
import time
import urllib.request

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from processor.model import otlp_json
from processor.model.batch import Signal
from processor.testing.process import TokenstreamProcess
from tests.e2e.conftest import file_pipeline
from tests.e2e.sdk import log_set, logs_request, make_log_records, make_spans, span_set, spans_request


def read_jsonl(path, signal: Signal):
    return [otlp_json.decode(signal, line) for line in path.read_bytes().splitlines() if line.strip()]


def test_sdk_exporters_over_grpc_and_http_deliver_spans_and_logs_to_the_file(tokenstream, ports, tmp_path):
    grpc_spans, http_spans = make_spans(5, prefix="grpc"), make_spans(5, prefix="http")
    grpc_logs, http_logs = make_log_records(3), make_log_records(4)

    assert GrpcSpanExporter(endpoint=f"127.0.0.1:{ports.grpc}", insecure=True).export(grpc_spans) \
        is SpanExportResult.SUCCESS
    assert HttpSpanExporter(endpoint=f"http://127.0.0.1:{ports.http}/v1/traces").export(http_spans) \
        is SpanExportResult.SUCCESS
    assert GrpcLogExporter(endpoint=f"127.0.0.1:{ports.grpc}", insecure=True).export(grpc_logs) \
        is LogRecordExportResult.SUCCESS
    assert HttpLogExporter(endpoint=f"http://127.0.0.1:{ports.http}/v1/logs").export(http_logs) \
        is LogRecordExportResult.SUCCESS

    assert tokenstream.stop() == 0, tokenstream.logs()
    sent_spans = span_set([spans_request(grpc_spans), spans_request(http_spans)])
    assert span_set(read_jsonl(tmp_path / "spans.jsonl", Signal.TRACES)) == sent_spans
    sent_logs = log_set([logs_request(grpc_logs), logs_request(http_logs)])
    assert log_set(read_jsonl(tmp_path / "logs.jsonl", Signal.LOGS)) == sent_logs
    assert "started receiver otlp" in tokenstream.logs()


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "pure-python"])
def test_the_wire_core_path_is_named_at_start_when_it_is_the_reference_and_spans_pass_either_way(
        tmp_path, ports, pure):
    env = {"TOKENSTREAM_PURE_PYTHON": "1"} if pure else {}
    process = TokenstreamProcess(file_pipeline(tmp_path, ports), tmp_path, health_port=ports.health, env=env).start()
    try:
        spans = make_spans(4, prefix="wire")
        assert GrpcSpanExporter(endpoint=f"127.0.0.1:{ports.grpc}", insecure=True).export(spans) \
            is SpanExportResult.SUCCESS
        assert process.stop() == 0, process.logs()
    finally:
        process.kill()
    assert span_set(read_jsonl(tmp_path / "spans.jsonl", Signal.TRACES)) == span_set([spans_request(spans)])
    warnings = [line for line in process.logs().splitlines() if "wire core:" in line]
    if pure:
        assert len(warnings) == 1 and "WARNING" in warnings[0] and "TOKENSTREAM_PURE_PYTHON=1" in warnings[0], warnings
    else:
        assert warnings == []


def _post(url: str, body: bytes, content_type: str, *, gzipped: bool = False) -> int:
    headers = {"Content-Type": content_type}
    if gzipped:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def test_the_same_spans_as_json_and_as_gzipped_protobuf_produce_identical_output(tokenstream, ports, tmp_path):
    url = f"http://127.0.0.1:{ports.http}/v1/traces"
    as_json = spans_request(make_spans(3, prefix="json"))
    as_proto = spans_request(make_spans(3, prefix="proto"))
    for span in as_proto.resource_spans[0].scope_spans[0].spans:  # make the two payloads describe the same spans
        span.name = span.name.replace("proto", "json")
    as_proto.resource_spans[0].scope_spans[0].CopyFrom(as_json.resource_spans[0].scope_spans[0])

    assert _post(url, otlp_json.encode(as_json), "application/json") == 200
    assert _post(url, as_proto.SerializeToString(), "application/x-protobuf", gzipped=True) == 200
    assert tokenstream.stop() == 0, tokenstream.logs()

    written = read_jsonl(tmp_path / "spans.jsonl", Signal.TRACES)
    spans = [s for r in written for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len(spans) == 6
    first, second = spans[:3], spans[3:]
    assert [s.SerializeToString(deterministic=True) for s in first] == \
        [s.SerializeToString(deterministic=True) for s in second]
    assert span_set([as_json]) == span_set(written)


def test_sigterm_while_a_client_sends_keeps_every_acknowledged_span(tokenstream, ports, tmp_path):
    channel = grpc.insecure_channel(f"127.0.0.1:{ports.grpc}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    acknowledged: set[bytes] = set()
    stop = threading.Event()

    def send() -> None:
        index = 0
        while not stop.is_set() and index < 2000:
            request = spans_request(make_spans(2, prefix=f"sigterm-{index}"))
            index += 1
            try:
                stub.Export(request, timeout=5)
            except grpc.RpcError:
                continue  # refused while draining: not acknowledged, so not owed
            acknowledged.update(span_set([request]))

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    code = tokenstream.stop()
    stop.set()
    sender.join(10)
    channel.close()

    assert code == 0, tokenstream.logs()
    assert len(acknowledged) >= 20
    written = span_set(read_jsonl(tmp_path / "spans.jsonl", Signal.TRACES))
    assert acknowledged <= written, f"{len(acknowledged - written)} acknowledged spans are missing from the file"


def test_self_telemetry_counts_accepted_spans_and_health_turns_503_while_draining(tokenstream, ports):
    assert tokenstream.health() == 200
    assert GrpcSpanExporter(endpoint=f"127.0.0.1:{ports.grpc}", insecure=True).export(make_spans(7)) \
        is SpanExportResult.SUCCESS
    with urllib.request.urlopen(f"http://127.0.0.1:{ports.metrics}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'tokenstream_receiver_accepted_spans_total{receiver="otlp",transport="grpc"} 7.0' in text
    assert tokenstream.stop() == 0


def _keep_signalling(pid: int, sig: signal.Signals, until: subprocess.Popen, *, every: float = 0.02) -> int:
    """Send `sig` again and again until `until` exits; returns how many were sent after the first."""
    sent = 0
    while until.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            sent += 1
        time.sleep(every)
    return sent


def test_signals_after_the_first_are_logged_and_ignored_until_the_drain_is_done(tokenstream, ports, tmp_path):
    """Before: a second SIGTERM while the process drained (a supervisor, or Ctrl-C pressed twice) killed it with
    -15. The Collector ignores repeated signals during shutdown; so does tokenstream, to the very end."""
    spans = make_spans(5, prefix="twice")
    assert GrpcSpanExporter(endpoint=f"127.0.0.1:{ports.grpc}", insecure=True).export(spans) \
        is SpanExportResult.SUCCESS
    tokenstream.proc.send_signal(signal.SIGTERM)
    repeated = _keep_signalling(tokenstream.proc.pid, signal.SIGINT, tokenstream.proc)
    assert tokenstream.proc.wait(30) == 0, tokenstream.logs()
    assert repeated > 0
    logs = tokenstream.logs()
    # both may be pending when the handler first runs, and then SIGINT (2) is taken before SIGTERM (15)
    assert "draining in-flight data" in logs and "again while draining: ignored" in logs
    assert span_set(read_jsonl(tmp_path / "spans.jsonl", Signal.TRACES)) == span_set([spans_request(spans)])
