from __future__ import annotations

from types import SimpleNamespace

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.model.batch import Batch, Signal

_next_id = iter(range(1, 10**9))


def traces(names: list[str], *, service: str = "svc", scope: str = "lib") -> Batch:
    """A traces batch of one resource and one scope holding spans with these names and unique span ids."""
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.add(key="service.name").value.string_value = service
    scope_spans = resource.scope_spans.add()
    scope_spans.scope.name = scope
    for name in names:
        span = scope_spans.spans.add(name=name)
        span.trace_id = (1).to_bytes(16, "big")
        span.span_id = next(_next_id).to_bytes(8, "big")
    return Batch(Signal.TRACES, request)


def logs(bodies: list[str]) -> Batch:
    request = ExportLogsServiceRequest()
    scope_logs = request.resource_logs.add().scope_logs.add()
    for body in bodies:
        scope_logs.log_records.add().body.string_value = body
    return Batch(Signal.LOGS, request)


def span_names(batch: Batch) -> list[str]:
    return [s.name for rs in batch.request.resource_spans for ss in rs.scope_spans for s in ss.spans]


@pytest.fixture(scope="session")
def build() -> SimpleNamespace:
    """Batch builders for the tests in this folder: build.traces([...]), build.logs([...]), build.names(batch)."""
    return SimpleNamespace(traces=traces, logs=logs, names=span_names)
