"""The unit of data that flows through a pipeline.

A batch keeps the OTLP export request exactly as it was decoded (upb protobuf), so processors
read fields in place. Stream processors attach what they derive (stream records, anomalies) to
the same batch, and exporters pick the parts they write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class Signal(StrEnum):
    TRACES = "traces"
    LOGS = "logs"
    METRICS = "metrics"


REQUEST_TYPES: dict[Signal, type] = {
    Signal.TRACES: ExportTraceServiceRequest,
    Signal.LOGS: ExportLogsServiceRequest,
    Signal.METRICS: ExportMetricsServiceRequest,
}


@dataclass(slots=True)
class Batch:
    signal: Signal
    request: Any  # ExportTraceServiceRequest | ExportLogsServiceRequest | ExportMetricsServiceRequest
    streams: list[Any] = field(default_factory=list)  # StreamRecord messages
    anomalies: list[Any] = field(default_factory=list)  # StreamAnomaly messages
    extra: dict[str, list[Any]] = field(default_factory=dict)  # other derived records, by kind
    #: time.monotonic_ns() at which each request merged into this batch was received (receipt-to-ack latency)
    received_ns: list[int] = field(default_factory=list)

    @classmethod
    def empty(cls, signal: Signal) -> Batch:
        return cls(signal, REQUEST_TYPES[signal]())

    def item_count(self) -> int:
        """Spans, log records or metric data points: what the Collector counts as items."""
        return count_items(self.signal, self.request)

    def is_empty(self) -> bool:
        return self.item_count() == 0 and not self.streams and not self.anomalies and not self.extra

    def copy(self) -> Batch:
        """A deep copy, for a consumer that mutates data while another reads it."""
        request = REQUEST_TYPES[self.signal]()
        request.CopyFrom(self.request)
        return Batch(self.signal, request, list(self.streams), list(self.anomalies),
                     {k: list(v) for k, v in self.extra.items()}, list(self.received_ns))

    def merge(self, other: Batch) -> None:
        self.request.MergeFrom(other.request)
        self.streams.extend(other.streams)
        self.anomalies.extend(other.anomalies)
        for kind, records in other.extra.items():
            self.extra.setdefault(kind, []).extend(records)
        self.received_ns.extend(other.received_ns)


def count_items(signal: Signal, request: Any) -> int:
    if signal is Signal.TRACES:
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if signal is Signal.LOGS:
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    return sum(_data_points(m) for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)


def span_keys(resource_spans: Iterable[Any]) -> set[tuple[bytes, bytes]]:
    """(trace id, span id) of every span under these ResourceSpans (a request's, or a slice of them)."""
    return {(span.trace_id, span.span_id) for rs in resource_spans for ss in rs.scope_spans for span in ss.spans}


def _data_points(metric: Any) -> int:
    kind = metric.WhichOneof("data")
    return len(getattr(metric, kind).data_points) if kind else 0
