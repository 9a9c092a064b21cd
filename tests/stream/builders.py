"""Spans, requests and LLM calls built by hand for the stream processor's tests, and a small convention that
reads them (`test.*` attributes), standing in for the real adapters."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from processor.conventions.base import LlmCall, SpanStatus
from processor.model.otlp_attrs import to_python
from processor.model.records import StreamRecord
from tests.conventions.spans import any_value

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
PARENT = bytes.fromhex("b7ad6b7169203331")


def make_call(span_id: bytes = b"\x01" * 8, *, start: int | None = T0, end: int | None = None,
              chunks: list[int] | None = None, output_tokens: int | None = None, finish_reason: str | None = None,
              status: SpanStatus = SpanStatus.OK, parent: bytes = PARENT, model: str = "gpt-4o-mini",
              **fields: Any) -> LlmCall:
    record = StreamRecord(trace_id=TRACE, span_id=span_id, parent_span_id=parent, provider="openai",
                          request_model=model, operation="chat", convention="test")
    if start is not None:
        record.start_time_unix_nano = start
    if end is not None:
        record.end_time_unix_nano = end
    if output_tokens is not None:
        record.output_tokens = output_tokens
    if finish_reason is not None:
        record.finish_reason = finish_reason
    return LlmCall(record=record, streaming=True, chunk_times=list(chunks or []), status=status, **fields)


def attr(key: str, value: Any):
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    return KeyValue(key=key, value=any_value(value))


def llm_span(span_id: bytes, *, start: int = T0, end: int | None = None, chunks: list[int] = (),
             trace_id: bytes = TRACE, parent: bytes = PARENT, status: int = Status.STATUS_CODE_OK,
             **attributes: Any) -> Span:
    """A span the test convention reads: `test_llm`, plus `test_*` keyword attributes (`test.finish_reason`...)."""
    span = Span(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name="chat gpt-4o-mini",
                kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=start,
                end_time_unix_nano=end if end is not None else (max(chunks) if chunks else start) + MS)
    span.status.code = status
    span.attributes.append(attr("test.llm", True))
    for key, value in attributes.items():
        span.attributes.append(attr("test." + key, value))
    for time in chunks:
        span.events.add(name="chunk", time_unix_nano=time)
    return span


def plain_span(span_id: bytes = b"\x09" * 8, name: str = "GET /health", kind: int = Span.SPAN_KIND_SERVER,
               parent: bytes = b"", trace_id: bytes = TRACE, status: int = Status.STATUS_CODE_UNSET,
               start: int = T0, **attributes: Any) -> Span:
    span = Span(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name, kind=kind,
                start_time_unix_nano=start, end_time_unix_nano=start + 5 * MS)
    span.status.code = status
    for key, value in attributes.items():
        span.attributes.append(attr(key.replace("_", "."), value))
    return span


def traces(*spans: Span, scope: str = "test") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    scope_spans.scope.name = scope
    scope_spans.spans.extend(spans)
    return request


def choice_log(span_id: bytes, finish_reason: str, trace_id: bytes = TRACE) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    log = LogRecord(trace_id=trace_id, span_id=span_id, event_name="gen_ai.choice")
    log.body.kvlist_value.values.append(attr("finish_reason", finish_reason))
    request.resource_logs.add().scope_logs.add().log_records.append(log)
    return request


class AttrConvention:
    """Reads spans marked `test.llm`; finish reason, model and usage from `test.*` attributes, chunk times from
    `chunk` events, a `first` event as first token; every other attribute may be a retry marker."""

    name = "test"

    def read(self, span: Any, resource: Any, scope: Any) -> LlmCall | None:
        attrs = {kv.key: kv.value for kv in span.attributes}
        if "test.llm" not in attrs:
            return None
        record = StreamRecord(trace_id=span.trace_id, span_id=span.span_id, parent_span_id=span.parent_span_id,
                              provider="openai", request_model="gpt-4o-mini", operation="chat", convention=self.name,
                              start_time_unix_nano=span.start_time_unix_nano,
                              end_time_unix_nano=span.end_time_unix_nano)
        call = LlmCall(record=record, streaming=not attrs.get("test.nonstream", any_value(False)).bool_value,
                       chunk_times=[e.time_unix_nano for e in span.events if e.name == "chunk"],
                       status={0: SpanStatus.UNSET, 1: SpanStatus.OK, 2: SpanStatus.ERROR}[span.status.code])
        for event in span.events:
            if event.name == "first":
                call.first_token_time = event.time_unix_nano
        if "test.finish_reason" in attrs:
            record.finish_reason = attrs["test.finish_reason"].string_value
        if "test.model" in attrs:
            record.request_model = attrs["test.model"].string_value
        if "test.output_tokens" in attrs:
            record.output_tokens = attrs["test.output_tokens"].int_value
        if "test.input_tokens" in attrs:
            record.input_tokens = attrs["test.input_tokens"].int_value
        if "test.reported_ttft_s" in attrs:
            call.reported_ttft_s = attrs["test.reported_ttft_s"].double_value
        call.consumer_closed = "test.closed" in attrs
        call.retry_markers = {kv.key: to_python(kv.value) for kv in span.attributes if not kv.key.startswith("test.")}
        return call

    def join_log(self, call: LlmCall, log_record: Any) -> None:
        for kv in log_record.body.kvlist_value.values:
            if kv.key == "finish_reason":
                call.record.finish_reason = kv.value.string_value


def read_with(span: Any, resource: Any, scope: Any, conventions: list) -> LlmCall | None:
    """The same contract as processor.conventions.read_llm_call: the first convention that reads the span."""
    for convention in conventions:
        call = convention.read(span, resource, scope)
        if call is not None:
            return call
    return None
