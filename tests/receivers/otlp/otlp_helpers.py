"""Helpers the otlp receiver tests share (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import asyncio

import aiohttp
import grpc
from grpc_status import rpc_status
from opentelemetry._logs import SeverityNumber
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as logs_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as metrics_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as trace_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from processor.model.batch import Signal
from processor.testing import SinkConsumer

TIMEOUT = aiohttp.ClientTimeout(total=10)


def sink_routes(sink: SinkConsumer, *signals: Signal) -> dict:
    return {signal: sink for signal in (signals or tuple(Signal))}


def trace_request(*spans: tuple[bytes, bytes], name: str = "op") -> ExportTraceServiceRequest:
    """A request with one span per (trace_id, span_id) pair."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for trace_id, span_id in spans:
        span = scope.spans.add(trace_id=trace_id, span_id=span_id, name=name)
        span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
    return request


def good_span(n: int = 1) -> tuple[bytes, bytes]:
    return bytes([n]) * 16, bytes([n]) * 8


async def post(port: int, path: str, body: bytes, *, content_type: str = "application/x-protobuf",
               headers: dict | None = None, scheme: str = "http", ssl=None) -> tuple[int, dict, bytes]:
    """POST to the receiver on 127.0.0.1; returns (status, headers, body)."""
    all_headers = {"Content-Type": content_type, **(headers or {})}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.post(
            f"{scheme}://127.0.0.1:{port}{path}", data=body, headers=all_headers, ssl=ssl) as response:
        return response.status, dict(response.headers), await response.read()


async def in_thread(function, *args, **kwargs):
    """Run a blocking SDK exporter call off the event loop that serves the receiver."""
    return await asyncio.wait_for(asyncio.to_thread(function, *args, **kwargs), 20)


_STUBS = {
    Signal.TRACES: trace_grpc.TraceServiceStub,
    Signal.LOGS: logs_grpc.LogsServiceStub,
    Signal.METRICS: metrics_grpc.MetricsServiceStub,
}


async def grpc_export(port: int, request, *, signal: Signal = Signal.TRACES, metadata=None, credentials=None,
                      options=None):
    """Export over gRPC to 127.0.0.1; returns the response, raises grpc.aio.AioRpcError on a non-OK status."""
    target = f"127.0.0.1:{port}"
    channel = (grpc.aio.secure_channel(target, credentials, options=options) if credentials
               else grpc.aio.insecure_channel(target, options=options))
    async with channel:
        return await _STUBS[signal](channel).Export(request, metadata=metadata, timeout=10)


async def grpc_status_of(port: int, request, **kwargs):
    """The (code, google.rpc.Status or None) a failing export ends with."""
    target = f"127.0.0.1:{port}"
    async with grpc.aio.insecure_channel(target) as channel:
        stub = _STUBS[kwargs.pop("signal", Signal.TRACES)](channel)
        call = stub.Export(request, timeout=kwargs.pop("timeout", 10), **kwargs)
        try:
            await call
        except grpc.aio.AioRpcError as error:
            return error.code(), await rpc_status.aio.from_call(call)
    raise AssertionError("the export succeeded")


def sdk_spans() -> list:
    """Finished spans from the real OpenTelemetry SDK: a streamed LLM call with chunk events and a child."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "llm-gateway"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.otlp", "1.0")
    attributes = {"gen_ai.request.model": "gpt-4o", "gen_ai.request.stream": True, "gen_ai.usage.output_tokens": 7,
                  "temperature": 0.25, "stop": ["\n", "END"]}
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes=attributes) as call:
        for index, text in enumerate(("Hel", "lo", "!")):
            call.add_event("gen_ai.content.completion.chunk", {"gen_ai.completion.chunk": text, "index": index},
                           timestamp=1_700_000_000_000_000_000 + index * 50_000_000)
        with tracer.start_as_current_span("tool call") as child:
            child.set_attribute("tool", "search")
    provider.shutdown()
    return list(memory.get_finished_spans())


def sdk_log_records() -> list:
    """Finished log records from the real SDK, emitted inside a span so that they carry its ids."""
    memory = InMemoryLogRecordExporter()
    logs = LoggerProvider(resource=Resource.create({"service.name": "llm-gateway"}))
    logs.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = logs.get_logger("tests.otlp")
    tracer = TracerProvider().get_tracer("tests.otlp")
    with tracer.start_as_current_span("call"):
        logger.emit(body="prompt sent", severity_number=SeverityNumber.INFO, severity_text="INFO",
                    attributes={"gen_ai.system": "openai", "attempt": 1}, timestamp=1_700_000_000_123_000_000)
        logger.emit(body="stream ended", severity_number=SeverityNumber.WARN, attributes={"stalled": True},
                    timestamp=1_700_000_002_000_000_000)
    logs.shutdown()
    return list(memory.get_finished_logs())


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value_of(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def attributes_of(key_values) -> dict:
    return {kv.key: value_of(kv.value) for kv in key_values}


def assert_same_spans(sent: list, received: list) -> None:
    """Every SDK span arrived once, with its ids, times, kind, attributes and events unchanged."""
    assert len(received) == len(sent)
    by_id = {span.span_id: span for span in received}
    for span in sent:
        got = by_id[span.context.span_id.to_bytes(8, "big")]
        assert got.trace_id == span.context.trace_id.to_bytes(16, "big")
        assert got.parent_span_id == (span.parent.span_id.to_bytes(8, "big") if span.parent else b"")
        assert (got.name, got.start_time_unix_nano, got.end_time_unix_nano) == (span.name, span.start_time,
                                                                                 span.end_time)
        assert got.kind == span.kind.value + 1  # the SDK's enum starts at INTERNAL=0, OTLP's at UNSPECIFIED=0
        expected_attributes = {k: list(v) if isinstance(v, tuple) else v for k, v in span.attributes.items()}
        assert attributes_of(got.attributes) == expected_attributes
        assert [(e.name, e.time_unix_nano, attributes_of(e.attributes)) for e in got.events] == [
            (e.name, e.timestamp, dict(e.attributes)) for e in span.events]


def assert_same_log_records(sent: list, received: list) -> None:
    assert len(received) == len(sent)
    for readable, got in zip(sent, received, strict=True):
        record = readable.log_record
        assert value_of(got.body) == record.body
        assert (got.time_unix_nano, got.severity_number) == (record.timestamp, record.severity_number.value)
        assert got.trace_id == record.trace_id.to_bytes(16, "big")
        assert got.span_id == record.span_id.to_bytes(8, "big")
        assert attributes_of(got.attributes) == dict(record.attributes)


def received_log_records(sink: SinkConsumer) -> list:
    return [record for batch in sink.batches if batch.signal is Signal.LOGS for rl in batch.request.resource_logs
            for sl in rl.scope_logs for record in sl.log_records]
