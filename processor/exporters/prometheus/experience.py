"""The user-experience metrics, from what the slo, feedback, reconnect and trace_cost processors leave on a batch:

- `llm_stream_slo_breached{route,model}`: 1 while the route and model's p95 TTFT is over its threshold, else 0
  (from `batch.slo_status`, one per evaluation);
- `llm_stream_feedback_total{experience,verdict}` (from `batch.feedback`); the thumbs-down rate of
  an experience class is `down / (up + down)` of it;
- `llm_stream_reconnects_total`: stream records with `reconnect_of`;
- `llm_trace_cost_usd{route}`: one observation per trace rollup (from `batch.trace_costs`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from processor.exporters.prometheus.series import CounterFamily, HistogramFamily
from processor.model.batch import Batch

#: US dollars per trace: a tenth of a cent to tens of dollars.
COST_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25)


class GaugeFamily(CounterFamily):
    """A value that is set, not added (merging workers' snapshots still adds: a sum over workers)."""

    def set(self, key: tuple[str, ...], value: float, now: float) -> None:
        self._slot(key, now).value = value


class ExperienceMetrics:
    def __init__(self, prefix: str, family: dict, histogram_family: Callable[..., HistogramFamily] = HistogramFamily
                 ) -> None:
        self.slo_breached = GaugeFamily(prefix + "llm_stream_slo_breached", ("route", "model"),
                                        otel_name="llm.stream.slo_breached", unit="1", **family)
        self.feedback = CounterFamily(prefix + "llm_stream_feedback", ("experience", "verdict"),
                                      otel_name="llm.stream.feedback", unit="{feedback}", **family)
        self.reconnects = CounterFamily(prefix + "llm_stream_reconnects", (), otel_name="llm.stream.reconnects",
                                        unit="{stream}", **family)
        self.trace_cost = histogram_family(prefix + "llm_trace_cost_usd", ("route",), COST_BUCKETS,
                                           otel_name="llm.trace.cost", unit="USD", **family)
        self.docs = {
            self.slo_breached: "1 while the p95 time to first token of a route and model is over its SLO threshold.",
            self.feedback: "User feedback joined to its stream, by the stream's experience class and the verdict.",
            self.reconnects: "Streams started in a session soon after an aborted or truncated one.",
            self.trace_cost: "Cost of a trace's streamed LLM calls in US dollars, one observation per trace.",
        }

    def observe(self, batch: Batch, now: float) -> int:
        """Adds what the batch carries; returns how many records that was."""
        seen = 0
        for status in batch.slo_status:
            self.slo_breached.set((status.route, status.request_model), float(status.breached), now)
            seen += 1
        for feedback in batch.feedback:
            self.feedback.inc((feedback.experience, feedback.verdict), 1, now)
            seen += 1
        for cost in batch.trace_costs:
            if cost.HasField("cost_usd") and not math.isnan(cost.cost_usd):
                self.trace_cost.observe((cost.route,), cost.cost_usd, now)
                seen += 1
        reconnects = sum(1 for record in batch.streams if record.reconnect_of)
        if reconnects:
            self.reconnects.inc((), reconnects, now)
        return seen
