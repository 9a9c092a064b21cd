"""The stream metrics: what one StreamRecord adds, and how the aggregates are written out at scrape time.

One record is one stream, so each record is observed once (never per chunk). Only fields the record has
are observed: an unknown TTFT is not a TTFT of zero.

Each family also carries its OpenTelemetry name and unit: the stream_metrics connector sends the same aggregates
as OTLP metrics (Prometheus name = OTel name with `.` as `_`, the unit suffix, and `_total` on counters).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from processor.exporters.prometheus.experience import ExperienceMetrics, GaugeFamily
from processor.exporters.prometheus.labels import record_labels
from processor.exporters.prometheus.series import CounterFamily, HistogramFamily
from processor.model.batch import Batch

#: Semantic-convention bucket boundaries.
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5)
DURATION_BUCKETS = tuple(0.01 * 2**i for i in range(14))  # 0.01 ... 81.92
TOKEN_BUCKETS = tuple(4**i for i in range(14))  # 1 ... 67108864

#: Labels every stream metric carries, in this order, after the const labels.
STREAM_LABELS = ("provider", "model", "route", "tenant")
#: The OTLP attribute of a label whose semconv name has dots; every other label is its own attribute name.
OTEL_ATTRIBUTES = {"gen_ai_token_type": "gen_ai.token.type"}


class StreamMetrics:
    """Aggregates per label set; a prometheus_client collector (`collect`) for the scrape."""

    def __init__(self, *, namespace: str | None, const_labels: Mapping[str, str], limit: int, ttl: float,
                 on_overflow: Callable[[str], None], clock: Callable[[], float] = time.monotonic,
                 histogram_family: Callable[..., HistogramFamily] = HistogramFamily) -> None:
        self._prefix = f"{namespace}_" if namespace else ""
        self._const_names = tuple(const_labels)
        self._const_values = tuple(const_labels.values())
        self._clock = clock
        self._ttl = ttl
        self._next_sweep = 0.0
        self._histogram_family = histogram_family
        family = {"limit": limit, "ttl": ttl, "on_overflow": on_overflow}
        h, c = self._histogram, self._counter
        self.ttft = h("gen_ai_server_time_to_first_token_seconds", (), TTFT_BUCKETS, family,
                      "gen_ai.server.time_to_first_token", "s")
        self.tpot = h("gen_ai_server_time_per_output_token_seconds", (), TPOT_BUCKETS, family,
                      "gen_ai.server.time_per_output_token", "s")
        self.duration = h("gen_ai_client_operation_duration_seconds", (), DURATION_BUCKETS, family,
                          "gen_ai.client.operation.duration", "s")
        self.tokens = h("gen_ai_client_token_usage", ("gen_ai_token_type",), TOKEN_BUCKETS, family,
                        "gen_ai.client.token.usage", "{token}")
        self.streams = c("llm_streams", ("outcome",), family, "llm.streams", "{stream}")
        self.stalls = c("llm_stream_stalls", (), family, "llm.stream.stalls", "{stall}")
        self.truncations = c("llm_stream_truncations", ("reason",), family, "llm.stream.truncations", "{stream}")
        self.retries = c("llm_stream_retries_after_first_chunk", (), family, "llm.stream.retries_after_first_chunk",
                         "{stream}")
        self.cost = c("llm_stream_cost_usd", (), family, "llm.stream.cost", "USD")
        self._docs = {
            self.ttft: "Time from the request to the first chunk of a streamed LLM response.",
            self.tpot: "Mean time between output tokens after the first, per stream.",
            self.duration: "Duration of a streamed LLM call, from request to last chunk or end.",
            self.tokens: "Tokens per streamed LLM call, by gen_ai_token_type (input, output).",
            self.streams: "Streamed LLM calls, by outcome (completed, truncated, aborted, error).",
            self.stalls: "Stalls (gaps between chunks over the stall threshold) in streamed LLM calls.",
            self.truncations: "Streams that ended truncated, by reason.",
            self.retries: "Streams retried after the first chunk had been delivered.",
            self.cost: "Cost of streamed LLM calls in US dollars, from the configured price table.",
        }
        #: SLO breaches, feedback, reconnects and cost per trace: not per stream, and not by the stream labels.
        self.experience = ExperienceMetrics(self._prefix, family, histogram_family)
        self._docs.update(self.experience.docs)

    def _histogram(self, name, extra, bounds, family, otel_name, unit) -> HistogramFamily:
        return self._histogram_family(self._prefix + name, STREAM_LABELS + extra, bounds, otel_name=otel_name,
                                      unit=unit, **family)

    def _counter(self, name, extra, family, otel_name, unit) -> CounterFamily:
        return CounterFamily(self._prefix + name, STREAM_LABELS + extra, otel_name=otel_name, unit=unit, **family)

    def observe_batch(self, batch: Batch) -> int:
        """Add what a batch carries: its stream records, and the experience records (SLO statuses, feedback, trace
        costs, reconnects); returns how many records that was."""
        experience = batch.streams or batch.slo_status or batch.feedback or batch.trace_costs
        seen = self.experience.observe(batch, self.clock()) if experience else 0
        observe = self.observe
        for record in batch.streams:
            observe(record, record_labels(record))
        return seen + len(batch.streams)

    def observe(self, record, labels: tuple[str, str, str, str]) -> None:
        """Add one stream. `labels` are its provider, model, route and tenant."""
        now = self._clock()
        if now >= self._next_sweep:  # first, so that expired label sets free their place under the limit
            self.expire(now)
        has = record.HasField
        for family, field in ((self.ttft, "ttft_s"), (self.tpot, "tpot_s"), (self.duration, "duration_s")):
            if has(field) and not math.isnan(value := getattr(record, field)):
                family.observe(labels, value, now)
        if has("input_tokens"):
            self.tokens.observe(labels + ("input",), record.input_tokens, now)
        if has("output_tokens"):
            self.tokens.observe(labels + ("output",), record.output_tokens, now)
        outcome = record.outcome if has("outcome") else ""
        self.streams.inc(labels + (outcome,), 1, now)
        if has("stall_count"):
            self.stalls.inc(labels, record.stall_count, now)
        if outcome == "truncated" or has("truncation_reason"):
            self.truncations.inc(labels + (record.truncation_reason if has("truncation_reason") else "",), 1, now)
        if has("retried_after_partial"):
            self.retries.inc(labels, int(record.retried_after_partial), now)  # a known "no" keeps the series
        if has("cost_usd") and not math.isnan(record.cost_usd):
            self.cost.inc(labels, record.cost_usd, now)

    def expire(self, now: float | None = None) -> None:
        now = self._clock() if now is None else now
        for family in self._docs:
            family.expire(now)
        self._next_sweep = now + self._ttl / 4

    def families(self) -> list[HistogramFamily | CounterFamily]:
        return list(self._docs)

    def description(self, family: HistogramFamily | CounterFamily) -> str:
        return self._docs[family]

    def clock(self) -> float:
        return self._clock()

    def series_count(self) -> dict[str, int]:
        return {family.name: len(family) for family in self._docs}

    def collect(self) -> Iterator[Metric]:
        self.expire()
        for family, doc in self._docs.items():
            names = self._const_names + family.label_names
            if isinstance(family, GaugeFamily):
                metric = GaugeMetricFamily(family.name, doc, labels=names)
                for key, series in family.items():
                    metric.add_metric(self._const_values + key, series.value)
                yield metric
            elif isinstance(family, HistogramFamily):
                yield self._histogram_metric(family, doc, names)
            else:
                metric = CounterMetricFamily(family.name, doc, labels=names)
                for key, series in family.items():
                    metric.add_metric(self._const_values + key, series.value)
                yield metric

    def _histogram_metric(self, family: HistogramFamily, doc: str, names: tuple[str, ...]) -> Metric:
        metric = HistogramMetricFamily(family.name, doc, labels=names)
        les = [floatToGoString(b) for b in family.bounds] + ["+Inf"]
        for key, series in family.items():
            cumulative, buckets = 0, []
            for le, count in zip(les, series.counts, strict=True):
                cumulative += count
                buckets.append((le, cumulative))
            metric.add_metric(self._const_values + key, buckets, series.total)
        return metric
