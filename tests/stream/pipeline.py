"""Building the stream processors by hand for tests: alone, or chained in the default order."""

from __future__ import annotations

from processor.component import Kind
from processor.model.batch import Batch, Signal
from processor.processors.cadence.config import CadenceConfig
from processor.processors.cadence.processor import CadenceProcessor
from processor.processors.cost.config import CostConfig
from processor.processors.cost.processor import CostProcessor
from processor.processors.retry_detect.config import RetryDetectConfig
from processor.processors.retry_detect.processor import RetryDetectProcessor
from processor.processors.stream_reconstruct.config import StreamReconstructConfig
from processor.processors.stream_reconstruct.processor import StreamReconstructProcessor
from processor.processors.truncation.config import TruncationConfig
from processor.processors.truncation.processor import TruncationProcessor
from processor.stream.work import WORK, StreamWork, TraceState
from processor.testing import create_settings
from tests.stream.builders import AttrConvention, read_with


def reconstruct(next_consumer, *, wait: float = 5.0, max_traces: int = 100, signals=(Signal.TRACES,),
                shared: dict | None = None, telemetry=None, conventions=None, read=read_with):
    settings = create_settings("stream_reconstruct", Kind.PROCESSOR, signals=signals, shared=shared,
                               telemetry=telemetry)
    config = StreamReconstructConfig(wait=wait, max_traces=max_traces)
    return StreamReconstructProcessor(settings, config, next_consumer, conventions=conventions or [AttrConvention()],
                                      read=read)


def settings_for(type_: str):
    return create_settings(type_, Kind.PROCESSOR)


def default_chain(sink, *, stall_gap: float = 2.0, prices: dict | None = None, **reconstruct_options):
    """stream_reconstruct -> cadence -> retry_detect -> truncation (-> cost) -> sink; returns the head."""
    head = sink
    if prices is not None:
        head = CostProcessor(settings_for("cost"), CostConfig(prices=prices), head)
    head = TruncationProcessor(settings_for("truncation"), TruncationConfig(), head)
    head = RetryDetectProcessor(settings_for("retry_detect"), RetryDetectConfig(), head)
    head = CadenceProcessor(settings_for("cadence"), CadenceConfig(stall_gap=stall_gap), head)
    return reconstruct(head, **reconstruct_options)


def final_batch(*calls, http=()) -> Batch:
    """What stream_reconstruct emits after `wait` for one trace holding `calls`."""
    trace = TraceState(calls[0].record.trace_id, calls={c.record.span_id: c for c in calls})
    trace.http.extend(http)
    batch = Batch.empty(Signal.TRACES)
    for call in trace.streamed_calls():
        work = StreamWork.of(call, trace)
        batch.extra.setdefault(WORK, []).append(work)
        batch.streams.append(work.record)
    return batch


def receipt_batch(request, *calls) -> Batch:
    """A span batch as stream_reconstruct passes it on: each call's receipt-time work points at its span."""
    spans = {s.span_id: s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans}
    trace = TraceState(calls[0].record.trace_id, calls={c.record.span_id: c for c in calls})
    batch = Batch(Signal.TRACES, request)
    batch.extra[WORK] = [StreamWork.of(c, trace, spans[c.record.span_id]) for c in calls]
    return batch


async def replay_capture(capture, conventions, read, *, stall_gap: float = 1.0):
    """A capture's traces then logs through the default chain, as two pipelines sharing one stream_reconstruct id;
    shutdown flushes the records into the returned sink."""
    from processor.testing import SinkConsumer

    sink, shared = SinkConsumer(), {}
    head = default_chain(sink, stall_gap=stall_gap, shared=shared, conventions=conventions, read=read)
    logs = reconstruct(SinkConsumer(), shared=shared, signals=(Signal.LOGS,), conventions=conventions, read=read)
    for request in capture.traces:
        await head.consume(Batch(Signal.TRACES, request))
    for request in capture.logs:
        await logs.consume(Batch(Signal.LOGS, request))
    await head.shutdown()
    return sink
