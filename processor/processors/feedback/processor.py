"""feedback: user feedback (a span event or a log record) joined to the stream it is about, counted by the
experience the user had of that stream.

Each joined feedback becomes a `StreamFeedback` on `batch.feedback` of the batch in which the join
happened, from which the prometheus exporter counts `llm_stream_feedback_total{experience,verdict}`. Feedback
comes in both pipelines (span events in traces, log records in logs) but stream records only in traces, so
every instance of one component id shares one `JoinState` (`settings.shared`): use the same id in both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.model.batch import Batch, Signal
from processor.model.gen.tokenstream.v1.stream_pb2 import StreamFeedback
from processor.model.records import StreamRecord
from processor.processors.feedback.config import FeedbackConfig
from processor.processors.feedback.experience import experience_of
from processor.processors.feedback.join import JoinState, KnownStream
from processor.processors.feedback.reading import Feedback, FeedbackReader
from processor.processors.feedback.telemetry import dropped_counter

_LABELS = ("route", "request_model", "tenant")


class FeedbackProcessor(ComponentBase):
    #: Adds joined feedback to the batches it passes on.
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: FeedbackConfig, next_consumer: Consumer, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.next = next_consumer
        self.reader = FeedbackReader(config)
        #: Spans with a feedback event (component.Claiming): the receiver's one scan claims them.
        self.span_claims = (self.reader.span_claims,)
        self.slow_ttft = config.slow_ttft
        self.clock = clock
        dropped = dropped_counter(settings.telemetry.registry)
        self.no_verdict = dropped.labels(str(settings.id), "no_verdict")
        self.state: JoinState = settings.shared.setdefault("feedback", JoinState(
            session_window_s=config.session_window, pending_wait_s=config.pending_wait,
            max_pending=config.max_pending, max_streams=config.max_streams,
            on_drop=lambda reason: dropped.labels(str(settings.id), reason).inc()))

    async def consume(self, batch: Batch) -> None:
        now = self.clock()
        state = self.state
        joined = self._remember(batch) if batch.streams else []
        for feedback in self._read(batch):
            if feedback.verdict is None:
                self.no_verdict.inc()
                continue
            found = state.join(feedback)
            if found is None:
                state.wait(feedback, now)
            else:
                joined.append((feedback, *found))
        state.expire(now)
        if joined:
            batch.feedback.extend(_message(*j) for j in joined)
        await self.next.consume(batch)

    def _remember(self, batch: Batch) -> list[tuple[Feedback, KnownStream, str]]:
        """Pending feedback the batch's streams let join. (The KnownStreams are gone when it returns, not kept while
        the batch goes downstream: JoinState keeps them in a form the GC does not track.)"""
        slow = {a.span_id for a in batch.anomalies if a.kind == "slow_first_token" and a.span_id}
        known = [self._known(record, slow) for record in batch.streams]
        for stream in known:
            self.state.remember(stream)
        return self.state.resolve(known)

    def _read(self, batch: Batch):
        if batch.signal is Signal.TRACES:
            return self.reader.from_spans(batch.request) if batch.may_hold(self.reader.span_claims) else ()
        if batch.signal is Signal.LOGS:
            return self.reader.from_logs(batch.request)
        return ()

    def _known(self, record: StreamRecord, slow: set[bytes]) -> KnownStream:
        has = record.HasField
        start = record.start_time_unix_nano if has("start_time_unix_nano") else 0
        end = record.end_time_unix_nano if has("end_time_unix_nano") else start
        experience = experience_of(record, slow_ttft=self.slow_ttft, had_slow_anomaly=record.span_id in slow)
        return KnownStream(record.trace_id, record.span_id, record.session_id if has("session_id") else "", start,
                           end, experience, {name: getattr(record, name) for name in _LABELS if has(name)})


def _message(feedback: Feedback, stream: KnownStream, joined_by: str) -> StreamFeedback:
    message = StreamFeedback(trace_id=stream.trace_id, span_id=stream.span_id, experience=stream.experience,
                             verdict=feedback.verdict, joined_by=joined_by, **stream.labels)
    if feedback.trace_id and feedback.trace_id != stream.trace_id:
        message.feedback_trace_id = feedback.trace_id
    if feedback.score is not None:
        message.score = feedback.score
    if feedback.time:
        message.time_unix_nano = feedback.time
    if stream.session:
        message.session_id = stream.session
    return message
