"""A tiny OTLP/gRPC receiver for tests: stores every Export request (traces, logs, metrics) it gets, as sent.

Runs on the caller's asyncio loop on 127.0.0.1 with free ports: OTLP/gRPC (grpc.aio) at `endpoint`, and
OTLP/HTTP protobuf (aiohttp: /v1/traces, /v1/logs, /v1/metrics, gzip accepted) at `http_endpoint`:

    async with OtlpCapture() as capture:
        ...export to capture.endpoint...
        spans = await capture.wait_for_spans(lambda spans: len(spans) >= 2, timeout=10)
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
from collections.abc import Callable
from typing import Any

import grpc
from aiohttp import web
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span


@dataclasses.dataclass
class Captured:
    """One export request with its gRPC metadata (e.g. a routing header such as x-capture-path)."""

    signal: str
    request: Any
    metadata: dict[str, str]


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, capture: OtlpCapture) -> None:
        self._capture = capture

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802 - gRPC name
        self._capture.store("traces", request, context)
        return trace_service_pb2.ExportTraceServiceResponse()


class _LogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, capture: OtlpCapture) -> None:
        self._capture = capture

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802 - gRPC name
        self._capture.store("logs", request, context)
        return logs_service_pb2.ExportLogsServiceResponse()


class _MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, capture: OtlpCapture) -> None:
        self._capture = capture

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802 - gRPC name
        self._capture.store("metrics", request, context)
        return metrics_service_pb2.ExportMetricsServiceResponse()


_HTTP_SIGNALS = {"traces": trace_service_pb2.ExportTraceServiceRequest,
                 "logs": logs_service_pb2.ExportLogsServiceRequest,
                 "metrics": metrics_service_pb2.ExportMetricsServiceRequest}
_HTTP_RESPONSES = {"traces": trace_service_pb2.ExportTraceServiceResponse,
                   "logs": logs_service_pb2.ExportLogsServiceResponse,
                   "metrics": metrics_service_pb2.ExportMetricsServiceResponse}


class OtlpCapture:
    def __init__(self) -> None:
        self.requests: list[Captured] = []
        self._changed = asyncio.Condition()
        self._server: grpc.aio.Server | None = None
        self._http: web.AppRunner | None = None
        self.port = 0
        self.http_port = 0

    @property
    def endpoint(self) -> str:
        """host:port for an OTLP/gRPC exporter (insecure)."""
        return f"127.0.0.1:{self.port}"

    async def start(self) -> OtlpCapture:
        self._server = grpc.aio.server()
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), self._server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsService(self), self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsService(self), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        await self._start_http()
        return self

    async def _start_http(self) -> None:
        app = web.Application(handler_args={"auto_decompress": False})  # gzip is inflated below, once
        for signal, request_type in _HTTP_SIGNALS.items():
            app.router.add_post(f"/v1/{signal}", self._http_handler(signal, request_type))
        self._http = web.AppRunner(app)
        await self._http.setup()
        site = web.TCPSite(self._http, "127.0.0.1", 0)
        await site.start()
        self.http_port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - aiohttp exposes no public port

    def _http_handler(self, signal: str, request_type: type):  # noqa: ANN202 - aiohttp handler
        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            if request.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            message = request_type.FromString(body)
            self.requests.append(Captured(signal, message, dict(request.headers)))
            await self._notify()
            response = _HTTP_RESPONSES[signal]()
            return web.Response(body=response.SerializeToString(), content_type="application/x-protobuf")

        return handle

    @property
    def http_endpoint(self) -> str:
        """Base URL for an OTLP/HTTP exporter (append /v1/traces etc.)."""
        return f"http://127.0.0.1:{self.http_port}"

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.cleanup()
        if self._server is not None:
            await self._server.stop(grace=1)

    async def __aenter__(self) -> OtlpCapture:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def store(self, signal: str, request: Any, context: grpc.aio.ServicerContext) -> None:
        metadata = {item.key: item.value for item in (context.invocation_metadata() or ())}
        self.requests.append(Captured(signal, request, metadata))
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def spans(self) -> list[Span]:
        return [span for captured in self.requests if captured.signal == "traces"
                for resource_spans in captured.request.resource_spans
                for scope_spans in resource_spans.scope_spans for span in scope_spans.spans]

    def log_records(self) -> list[LogRecord]:
        return [record for captured in self.requests if captured.signal == "logs"
                for resource_logs in captured.request.resource_logs
                for scope_logs in resource_logs.scope_logs for record in scope_logs.log_records]

    async def wait_for_spans(self, done: Callable[[list[Span]], bool], *, timeout: float = 10.0) -> list[Span]:
        """Wait until `done(all spans so far)` is true; raise TimeoutError otherwise."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: done(self.spans())), timeout)
        return self.spans()
