"""What one tick of load sends: new streams, reconnects that have come due, and the users' feedback."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor.loadgen.feedback import FeedbackLogs, add_feedback_event
from processor.loadgen.profiles import StreamPlan, draw, feedback_verdict, reconnect_after
from processor.loadgen.spans import TraceBuilder

#: Seconds between a broken stream's end and the user's reconnect in the same session.
RECONNECT_DELAY = (1.0, 4.0)
#: Share of feedback sent as log records rather than span events; and of those, joined by session only.
FEEDBACK_AS_LOG = 0.4
LOG_BY_SESSION = 0.5
_NS = 1_000_000_000


@dataclass
class Tick:
    traces: list[TraceBuilder]
    logs: FeedbackLogs


class Traffic:
    def __init__(self, profile: str, rng: random.Random, chunk_text_key: str, *,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.profile = profile
        self.rng = rng
        self.chunk_text_key = chunk_text_key
        #: Unix ns "now": spans end at it and reconnects come due by it (a seed and a fixed clock repeat a run exactly).
        self.clock = clock
        self._reconnects: list[tuple[int, TraceBuilder, StreamPlan, Span]] = []  # (root end ns, ...), not yet due

    def tick(self, streams: int) -> Tick:
        """`streams` new streams in one request, each due reconnect in its own, and the feedback on all."""
        logs = FeedbackLogs()
        traces = []
        if streams:
            builder = self._builder()
            for _ in range(streams):
                plan = draw(self.profile, self.rng)
                root = builder.add(plan)
                self._after(plan, root, logs, builder)
            traces.append(builder)
        now = self.clock()
        for due in [r for r in self._reconnects if r[0] <= now]:
            self._reconnects.remove(due)
            _, builder, plan, root = due
            self._after(plan, root, logs, builder)
            traces.append(builder)
        return Tick(traces, logs)

    @property
    def pending_reconnects(self) -> int:
        return len(self._reconnects)

    def _builder(self) -> TraceBuilder:
        return TraceBuilder(self.rng, chunk_text_key=self.chunk_text_key, clock=self.clock)

    def _after(self, plan: StreamPlan, root: Span, logs: FeedbackLogs, builder: TraceBuilder) -> None:
        """What the user does next: maybe feedback, maybe a new stream in the session after a broken one."""
        verdict = feedback_verdict(plan, self.rng)
        if verdict is not None:
            if self.rng.random() < FEEDBACK_AS_LOG:
                logs.add(root, plan.session, verdict, with_trace=self.rng.random() >= LOG_BY_SESSION)
            else:
                add_feedback_event(root, verdict)
                builder.counts["feedback_events"] += 1
        again = reconnect_after(plan, self.rng)
        if again is not None:
            builder = self._builder()
            start = root.end_time_unix_nano + int(self.rng.uniform(*RECONNECT_DELAY) * _NS)
            reconnect_root = builder.add(again, start_ns=start)
            self._reconnects.append((reconnect_root.end_time_unix_nano, builder, again, reconnect_root))
