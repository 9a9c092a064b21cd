"""The stream processor with its content check, for traces and for logs (sharing state as one component id in both
pipelines does), with the real adapters."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor.conventions import read_llm_call, select
from processor.model.batch import Batch, Signal
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer
from tests.stream.builders import MS, PARENT, T0, TRACE, attr, traces
from tests.stream.pipeline import logs_instance, sections, stream


@dataclass
class Chain:
    traces: object
    logs: object
    sink: SinkConsumer
    telemetry: SelfTelemetry
    #: Trace requests go in as bytes, as the receivers pass them on (the spans read from the wire core's scan), or
    #: decoded (as after a component that decoded them).
    as_bytes: bool = False

    async def send(self, *requests) -> None:
        for request in requests:
            if isinstance(request, ExportLogsServiceRequest):
                await self.logs.consume(Batch(Signal.LOGS, request))
            elif self.as_bytes:
                await self.traces.consume(Batch.of_bytes(request.SerializeToString()))
            else:
                await self.traces.consume(Batch(Signal.TRACES, request))

    async def finish(self) -> SinkConsumer:
        await self.traces.shutdown()  # emits every held trace's final record
        return self.sink

    def records(self):
        return [r for b in self.sink.batches for r in b.streams]

    def anomalies(self, kind: str = "content_mismatch"):
        return [a for b in self.sink.batches for a in b.anomalies if a.kind == kind]

    def checked(self, result: str) -> float:
        return self.telemetry.registry.get_sample_value(
            "tokenstream_content_checked_streams_total", {"processor": "stream", "result": result}) or 0.0


@pytest.fixture(params=["bytes", "decoded"])
def make_chain(request):
    def build(**content_check) -> Chain:
        """`content_check` is the section's settings (none: its defaults)."""
        sink, telemetry, shared = SinkConsumer(), SelfTelemetry(), {}
        options = {**sections(content_check=content_check), "conventions": select(["auto"]), "read": read_llm_call,
                   "shared": shared, "telemetry": telemetry}
        return Chain(stream(sink, **options), logs_instance(**options), sink, telemetry, request.param == "bytes")
    return build


def openllmetry_span(chunks: list[str], *, completion: str | None, span_id: bytes = b"\x02" * 8,
                     text_key: str = "gen_ai.completion.chunk", start: int = T0) -> Span:
    """An OpenLLMetry chat span whose chunk events carry their text under `text_key` (the first, role-only chunk
    and the finish chunk carry none, as on the wire), and the completion it recorded."""
    span = Span(trace_id=TRACE, span_id=span_id, parent_span_id=PARENT, name="openai.chat",
                kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=start)
    span.attributes.extend([attr("gen_ai.provider.name", "openai"), attr("gen_ai.operation.name", "chat"),
                            attr("gen_ai.request.model", "gpt-4o-mini"), attr("gen_ai.is_streaming", True),
                            attr("gen_ai.response.finish_reasons", ["stop"]),
                            attr("gen_ai.usage.output_tokens", len(chunks))])
    if completion is not None:
        span.attributes.append(attr("gen_ai.completion.0.content", completion))
    now = start + 300 * MS
    span.events.add(name="gen_ai.content.completion.chunk", time_unix_nano=now)
    for text in chunks:
        now += 20 * MS
        span.events.add(name="gen_ai.content.completion.chunk", time_unix_nano=now, attributes=[attr(text_key, text)])
    span.events.add(name="gen_ai.content.completion.chunk", time_unix_nano=now + MS)
    span.end_time_unix_nano = now + 2 * MS
    span.status.code = span.status.STATUS_CODE_OK
    return span


def request_of(*spans: Span) -> ExportTraceServiceRequest:
    return traces(*spans, scope="opentelemetry.instrumentation.openai.v1")
