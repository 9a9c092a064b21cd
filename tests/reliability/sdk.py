"""Spans made by the real OpenTelemetry SDK, sent by its own OTLPSpanExporter (which retries UNAVAILABLE)."""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.reliability.traffic import SpanKey

#: The loggers the SDK's OTLP exporters say "Transient error ..., retrying in N s" on: gRPC's, and HTTP's for spans.
SDK_LOGGERS = ("opentelemetry.exporter.otlp.proto.grpc.exporter",
               "opentelemetry.exporter.otlp.proto.http.trace_exporter")
_RETRYING = re.compile(r"retrying in ([0-9.]+)s")


def llm_spans(count: int, *, service: str = "sdk-app") -> list[ReadableSpan]:
    """`count` finished chat spans with GenAI attributes, from a real TracerProvider."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("reliability")
    for index in range(count):
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.output_tokens": 10 + index % 7}):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def key(span: ReadableSpan) -> SpanKey:
    return span.context.trace_id.to_bytes(16, "big"), span.context.span_id.to_bytes(8, "big")


class RetryLog(logging.Handler):
    """Collects the SDK exporters' 'Transient error ... retrying in N s' warnings, over gRPC and HTTP."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.delays: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Transient error") and (found := _RETRYING.search(message)):
            self.delays.append(float(found.group(1)))

    def __enter__(self) -> RetryLog:
        for name in SDK_LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.filters.clear()  # the gRPC exporter's DuplicateFilter would hide repeated retries from the count
        return self

    def __exit__(self, *exc) -> None:
        for name in SDK_LOGGERS:
            logging.getLogger(name).removeHandler(self)


def exporter(port: int, *, transport: str = "grpc", timeout: float = 60.0) -> SpanExporter:
    """The SDK's own OTLP span exporter to 127.0.0.1:`port`, over gRPC or HTTP."""
    if transport == "http":
        return HttpSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", timeout=timeout)
    return OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=timeout)


def export_all(port: int, batches: list[list[ReadableSpan]], *, threads: int = 4, timeout: float = 60.0,
               transport: str = "grpc") -> list[SpanExportResult]:
    """The batches as `threads` apps would send them: each app has its own exporter and, as its
    BatchSpanProcessor does, exports one batch at a time. (One exporter shared by threads is not how the SDK is
    used: on UNAVAILABLE it reconnects, and that cancels the other threads' calls.)"""
    shares = [batches[i::threads] for i in range(threads)]

    def app(share: list[list[ReadableSpan]]) -> list[SpanExportResult]:
        own = exporter(port, transport=transport, timeout=timeout)
        try:
            return [own.export(batch) for batch in share]
        finally:
            own.shutdown()

    with ThreadPoolExecutor(threads) as pool:
        return [result for results in pool.map(app, shares) for result in results]


def export_once_each(grpc_port: int, http_port: int, spans: list[ReadableSpan], *,
                     timeout: float = 10.0) -> list[SpanExportResult]:
    """`spans` exported once over gRPC and once over HTTP, as an app beside misbehaving clients sends them."""
    return [export_all(port, [spans], threads=1, timeout=timeout, transport=transport)[0]
            for port, transport in ((grpc_port, "grpc"), (http_port, "http"))]
