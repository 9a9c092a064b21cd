"""Feedback as the apps send it: span events and log records, and stream records to join it to."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor.component import Kind
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord
from processor.processors.feedback.config import FeedbackConfig
from processor.processors.feedback.processor import FeedbackProcessor
from processor.testing import SinkConsumer, create_settings
from tests.conventions.spans import any_value

T0 = 1_700_000_000 * 10**9
S = 10**9


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_pair(*, telemetry=None, clock=None, **config):
    """The traces and the logs instance of one feedback component (sharing state, as the service makes them),
    each with its own sink."""
    shared: dict = {}
    clock = clock or Clock()
    parsed = FeedbackConfig.model_validate(config)
    sinks, made = {}, {}
    for signal in (Signal.TRACES, Signal.LOGS):
        sinks[signal] = SinkConsumer()
        settings = create_settings("feedback", Kind.PROCESSOR, signals=(signal,), shared=shared, telemetry=telemetry,
                                   pipeline=signal.value)
        made[signal] = FeedbackProcessor(settings, parsed, sinks[signal], clock=clock)
    return made[Signal.TRACES], made[Signal.LOGS], sinks


def feedback_span(trace_id: bytes, span_id: bytes, *, time: int, name: str = "gen_ai.feedback",
                  **attributes: Any) -> Span:
    """A span carrying one feedback event with `attributes` (keys with `_` written as `.`)."""
    span = Span(trace_id=trace_id, span_id=span_id, name="POST /feedback", start_time_unix_nano=time,
                end_time_unix_nano=time + 1000)
    event = span.events.add(name=name, time_unix_nano=time)
    for key, value in attributes.items():
        event.attributes.add(key=key.replace("_", "."), value=any_value(value))
    return span


def spans_batch(*spans: Span, streams=(), anomalies=()) -> Batch:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.extend(spans)
    return Batch(Signal.TRACES, request, streams=list(streams), anomalies=list(anomalies))


def logs_batch(*logs: LogRecord) -> Batch:
    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.extend(logs)
    return Batch(Signal.LOGS, request)


def feedback_log(*, time: int, trace_id: bytes = b"", name: str = "user.feedback", **attributes: Any) -> LogRecord:
    log = LogRecord(trace_id=trace_id, time_unix_nano=time, event_name=name)
    for key, value in attributes.items():
        log.attributes.add(key=key.replace("_", "."), value=any_value(value))
    return log


def stream(n: int, *, start_s: float, end_s: float, session: str = "", trace: int | None = None,
           **fields) -> StreamRecord:
    record = StreamRecord(trace_id=bytes([trace or n]) * 16, span_id=bytes([n]) * 8, route="/chat",
                          request_model="gpt-4o", start_time_unix_nano=T0 + int(start_s * S),
                          end_time_unix_nano=T0 + int(end_s * S), **fields)
    if session:
        record.session_id = session
    return record


def joined(*sinks) -> list:
    return [f for sink in sinks for b in sink.batches for f in b.feedback]
