"""The real OpenTelemetry SDK as a client: make spans and log records, export them over OTLP."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

RESOURCE = Resource.create({"service.name": "checkout-gateway", "deployment.environment": "test"})


def make_spans(count: int, *, prefix: str = "op"):
    """`count` finished spans with attributes and events, as an app would make them."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.e2e", "1.0")
    for index in range(count):
        with tracer.start_as_current_span(f"{prefix}-{index}", kind=SpanKind.CLIENT) as span:
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("index", index)
            span.set_attribute("ratio", index / 3)
            span.set_attribute("tags", ["a", "b"])
            span.add_event("gen_ai.content.completion.chunk")
            span.add_event("note", {"n": index})
    provider.shutdown()
    return memory.get_finished_spans()


def make_log_records(count: int, span_context=None):
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("tests.e2e.logs", "1.0")
    for index in range(count):
        logger.emit(body={"index": index, "finish_reason": "stop"}, attributes={"gen_ai.system": "openai"},
                    event_name="gen_ai.choice", severity_text="INFO")
    provider.shutdown()
    return memory.get_finished_logs()


def spans_request(spans):
    return encode_spans(spans)


def logs_request(records):
    return encode_logs(records)


def span_set(requests) -> set[bytes]:
    """Every span with its resource and scope, serialised, so two deliveries can be compared as sets."""
    found = set()
    for request in requests:
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    found.add(rs.resource.SerializeToString(deterministic=True)
                              + ss.scope.SerializeToString(deterministic=True)
                              + span.SerializeToString(deterministic=True))
    return found


def log_set(requests) -> set[bytes]:
    found = set()
    for request in requests:
        for rl in request.resource_logs:
            for sl in rl.scope_logs:
                for record in sl.log_records:
                    found.add(rl.resource.SerializeToString(deterministic=True)
                              + sl.scope.SerializeToString(deterministic=True)
                              + record.SerializeToString(deterministic=True))
    return found
