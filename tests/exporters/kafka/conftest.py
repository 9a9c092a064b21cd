"""Helpers for the kafka exporter tests: realistic batches, and an exporter built from a config dict."""

from __future__ import annotations

import os
import random

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor.component import Kind
from processor.exporters.kafka import KafkaExporter, KafkaExporterConfig
from processor.model.batch import Batch, Signal
from processor.model.records import StreamAnomaly, StreamRecord
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings


def _attr(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def make_request(*, traces: int = 3, spans_per_trace: int = 2, resources: int = 2, scopes: int = 2,
                 payload_bytes: int = 0, seed: int = 1) -> ExportTraceServiceRequest:
    """Spans of `traces` traces spread over every resource and scope, in a mixed order."""
    rng = random.Random(seed)
    trace_ids = [rng.randbytes(16) for _ in range(traces)]
    request = ExportTraceServiceRequest()
    targets = []
    for r in range(resources):
        rs = request.resource_spans.add()
        rs.resource.attributes.append(_attr("service.name", f"svc-{r}"))
        rs.schema_url = "https://opentelemetry.io/schemas/1.26.0"
        for s in range(scopes):
            ss = rs.scope_spans.add()
            ss.scope.name = f"scope-{s}"
            ss.scope.version = "1.0"
            targets.append(ss)
    n = 0
    for trace_id in trace_ids:
        for i in range(spans_per_trace):
            span = Span(trace_id=trace_id, span_id=rng.randbytes(8), name=f"chat gpt-4o #{i}",
                        kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=1_700_000_000_000_000_000 + n,
                        end_time_unix_nano=1_700_000_001_000_000_000 + n)
            span.attributes.append(_attr("gen_ai.request.model", "gpt-4o"))
            if payload_bytes:
                span.attributes.append(_attr("gen_ai.completion", rng.randbytes(payload_bytes // 2).hex()))
            targets[n % len(targets)].spans.append(span)
            n += 1
    return request


def make_batch(request: ExportTraceServiceRequest) -> Batch:
    """The request with one stream record and one anomaly per span."""
    batch = Batch(Signal.TRACES, request)
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                batch.streams.append(StreamRecord(trace_id=span.trace_id, span_id=span.span_id, provider="openai",
                                                  request_model="gpt-4o", ttft_s=0.25, chunk_count=42,
                                                  outcome="completed", start_time_unix_nano=1_700_000_000_000_000_000))
                batch.anomalies.append(StreamAnomaly(trace_id=span.trace_id, span_id=span.span_id, kind="stall",
                                                     severity="warning", detail="gap of 2.5s", provider="openai"))
    return batch


def all_spans(request: ExportTraceServiceRequest) -> list[Span]:
    return [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]


def span_keys(request: ExportTraceServiceRequest) -> set[tuple[bytes, bytes]]:
    return {(s.trace_id, s.span_id) for s in all_spans(request)}


class Harness:
    """Builds kafka exporters sharing one telemetry registry, and shuts down whatever it built."""

    def __init__(self) -> None:
        self.telemetry = SelfTelemetry()
        self.started: list[KafkaExporter] = []

    async def start(self, config: dict, *, id_: str = "kafka") -> KafkaExporter:
        settings = create_settings(id_, Kind.EXPORTER, telemetry=self.telemetry)
        exporter = KafkaExporter(settings, KafkaExporterConfig.model_validate(config))
        await exporter.start(Host(self.telemetry))
        self.started.append(exporter)
        return exporter

    async def stop(self, exporter: KafkaExporter) -> None:
        self.started.remove(exporter)
        await exporter.shutdown()

    def value(self, name: str, **labels: str) -> float:
        return self.telemetry.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def harness():
    h = Harness()
    yield h
    for exporter in list(h.started):
        await exporter.shutdown()


def using_external_broker() -> bool:
    return bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
