"""`tokenstream run` with otlp exporters, as a user runs it: into a second tokenstream, next to the OpenTelemetry
SDK's own exporters, through a backend outage, and across a kill -9 with the persistent queue."""

from __future__ import annotations

import asyncio
import time

import grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.sdk.trace.export import SpanExportResult

from processor.testing.process import TokenstreamProcess, free_port
from tests.e2e.sdk import make_spans
from tests.exporters.kafka.conftest import make_request, span_keys
from tests.support.otlp_backend import Answer, ScriptedBackend

FAST_RETRY = {"initial_interval": "200ms", "max_interval": "1s", "max_elapsed_time": "120s"}


def _pipeline(grpc_port: int, health: int, exporters: dict, *, processors: dict | None = None) -> dict:
    processors = processors or {}
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"},
                                             "http": {"endpoint": f"127.0.0.1:{free_port()}"}}}},
        "processors": processors,
        "exporters": exporters,
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{health}"}},
        "service": {"extensions": ["health_check"], "shutdown_timeout": "15s",
                    "telemetry": {"metrics": {"address": f"127.0.0.1:{free_port()}"}},
                    "pipelines": {"traces": {"receivers": ["otlp"], "processors": list(processors),
                                             "exporters": list(exporters)}}},
    }


def _start(config: dict, workdir, health: int) -> TokenstreamProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    return TokenstreamProcess(config, workdir, health_port=health).start()


async def _export(endpoint: str, request, *, timeout: float = 90.0) -> bool:
    """One export call as an SDK makes it; True when tokenstream acknowledged it."""
    async with grpc.aio.insecure_channel(endpoint) as channel:
        try:
            await trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=timeout)
        except grpc.aio.AioRpcError:
            return False
    return True


def test_tokenstream_into_tokenstream_gives_byte_identical_spans(tmp_path):
    import subprocess
    import sys

    second_grpc, second_health = free_port(), free_port()
    second = _start(_pipeline(second_grpc, second_health, {"file": {"path": str(tmp_path / "second.jsonl")}}),
                    tmp_path / "second", second_health)
    first_grpc, first_health = free_port(), free_port()
    stream = {"stream": {"conventions": ["auto"], "wait": "1s", "cadence": {}, "retries": {}, "truncation": {},
                         "cost": {}, "content_check": False},
              "redaction": {}, "batch": {"timeout": "20ms"}}
    first = _start(_pipeline(first_grpc, first_health, {
        "file": {"path": str(tmp_path / "first.jsonl")},
        "otlp": {"endpoint": f"127.0.0.1:{second_grpc}", "tls": {"insecure": True}}}, processors=stream),
        tmp_path / "first", first_health)
    try:
        loadgen = subprocess.run([sys.executable, "-m", "processor", "loadgen", "--endpoint", f"127.0.0.1:{first_grpc}",
                                  "--rate", "30", "--duration", "2s", "--profile", "mixed", "--seed", "5"],
                                 capture_output=True, text=True, timeout=120)
        assert loadgen.returncode == 0, loadgen.stderr
        assert first.stop() == 0, first.logs()[-3000:]
        assert second.stop() == 0, second.logs()[-3000:]
    finally:
        first.kill()
        second.kill()
    sent = (tmp_path / "first.jsonl").read_bytes().splitlines()
    arrived = (tmp_path / "second.jsonl").read_bytes().splitlines()
    assert len(sent) >= 5
    assert sorted(arrived) == sorted(sent)  # each enriched request, as the first wrote it, byte for byte
    assert b"tokenstream.outcome" in b"".join(arrived)


async def test_the_sdks_exporters_and_tokenstreams_agree(tmp_path):
    async with _backend() as backend:
        direct = make_spans(6, prefix="sdk")
        grpc_port, health = free_port(), free_port()
        process = await asyncio.to_thread(_start, _pipeline(grpc_port, health, {
            "otlp": {"endpoint": backend.endpoint, "tls": {"insecure": True}},
            "otlphttp": {"endpoint": backend.http_endpoint}}), tmp_path, health)
        try:
            for exporter in (GrpcSpanExporter(endpoint=backend.endpoint, insecure=True),
                             HttpSpanExporter(endpoint=f"{backend.http_endpoint}/v1/traces")):
                assert await asyncio.to_thread(exporter.export, direct) is SpanExportResult.SUCCESS
                exporter.shutdown()
            via = GrpcSpanExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True)
            assert await asyncio.to_thread(via.export, direct) is SpanExportResult.SUCCESS
            via.shutdown()
            await backend.wait_for(4)
        finally:
            await asyncio.to_thread(process.stop)
    sdk_grpc, sdk_http, *through_tokenstream = backend.received
    assert (sdk_grpc.transport, sdk_http.transport) == ("grpc", "http")
    ours = {r.transport: r for r in through_tokenstream}
    assert ours["grpc"].body == sdk_grpc.body  # identical at the sink, byte for byte
    assert ours["http"].body == sdk_http.body
    assert ours["http"].headers["Content-Type"] == sdk_http.headers["Content-Type"] == "application/x-protobuf"


async def test_retry_delays_and_a_20s_outage_lose_nothing_acknowledged(tmp_path):
    async with _backend() as backend:
        backend.scripts["grpc"].append(Answer.unavailable(retry_after=2.0))
        backend.scripts["http"].append(Answer.unavailable(retry_after=3.0))  # 503, Retry-After: 3
        grpc_port, health = free_port(), free_port()
        process = await asyncio.to_thread(_start, _pipeline(grpc_port, health, {
            "otlp": {"endpoint": backend.endpoint, "tls": {"insecure": True}, "retry_on_failure": FAST_RETRY},
            "otlphttp": {"endpoint": backend.http_endpoint, "retry_on_failure": FAST_RETRY}}), tmp_path, health)
        try:
            first = make_request(traces=2, spans_per_trace=2, seed=1)
            assert await _export(f"127.0.0.1:{grpc_port}", first)
            refused = {r.transport: r.at for r in backend.received if r.answer.grpc_code != grpc.StatusCode.OK}
            taken = {r.transport: r.at for r in backend.received if r.answer.grpc_code == grpc.StatusCode.OK}
            assert taken["grpc"] - refused["grpc"] >= 1.95 and taken["http"] - refused["http"] >= 2.95

            await backend.down()
            down_at = time.monotonic()
            during = [make_request(traces=3, spans_per_trace=2, seed=10 + i) for i in range(5)]
            calls = [asyncio.create_task(_export(f"127.0.0.1:{grpc_port}", r)) for r in during]
            await asyncio.sleep(20)
            assert not any(call.done() for call in calls), "acknowledged while the backend was down"
            await backend.up()
            acknowledged = [r for r, ok in zip(during, await asyncio.gather(*calls), strict=True) if ok]
            assert time.monotonic() - down_at < 40
        finally:
            await asyncio.to_thread(process.stop)
    assert len(acknowledged) == len(during)
    for transport in ("grpc", "http"):
        at_sink = set().union(*(span_keys(r.request()) for r in backend.bodies(transport)
                                if r.answer.grpc_code == grpc.StatusCode.OK))
        for request in [first, *acknowledged]:
            assert span_keys(request) <= at_sink, f"{transport}: an acknowledged span never arrived"


async def test_kill_9_with_the_persistent_queue_loses_nothing_acknowledged(tmp_path):
    backend_port = free_port()
    grpc_port, health = free_port(), free_port()
    config = _pipeline(grpc_port, health, {
        "otlp": {"endpoint": f"127.0.0.1:{backend_port}", "tls": {"insecure": True}, "retry_on_failure": FAST_RETRY,
                 "sending_queue": {"storage": {"directory": str(tmp_path / "queue")}}}})
    process = await asyncio.to_thread(_start, config, tmp_path / "run1", health)
    try:  # the backend is not there yet: everything waits in the on-disk queue
        requests = [make_request(traces=2, spans_per_trace=3, seed=100 + i) for i in range(8)]
        acknowledged = [r for r, ok in zip(requests, await asyncio.gather(
            *(_export(f"127.0.0.1:{grpc_port}", r, timeout=20) for r in requests)), strict=True) if ok]
        assert len(acknowledged) == len(requests)
    finally:
        process.proc.kill()  # SIGKILL: no drain, no flush
        await asyncio.to_thread(process.proc.wait, 10)
        process.kill()
    async with _backend(grpc_port=backend_port) as backend:
        restarted = await asyncio.to_thread(_start, config, tmp_path / "run2", health)
        try:
            deadline = time.monotonic() + 30
            expected = set().union(*(span_keys(r) for r in acknowledged))
            while time.monotonic() < deadline:
                arrived = set().union(set(), *(span_keys(r.request()) for r in backend.received))
                if expected <= arrived:
                    break
                await asyncio.sleep(0.2)
            assert expected <= arrived, f"{len(expected - arrived)} acknowledged spans lost"
        finally:
            assert await asyncio.to_thread(restarted.stop) == 0
    assert "re-sending" in restarted.logs()


class _backend:
    """A ScriptedBackend on this loop, as an async context manager."""

    def __init__(self, **options) -> None:
        self.server = ScriptedBackend(**options)

    async def __aenter__(self) -> ScriptedBackend:
        return await self.server.start()

    async def __aexit__(self, *exc) -> None:
        await self.server.stop()
