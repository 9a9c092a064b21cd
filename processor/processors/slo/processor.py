"""slo: per route and model, the p95 time to first token over a sliding window, against a threshold.

Like an alert rule: one `slow_first_token` anomaly when a breach begins (severity warning) and one when it
ends (severity info, "recovered"), never one per stream. Every evaluation leaves a `SloStatus` on
`batch.slo_status`, from which the prometheus exporter sets `llm_stream_slo_breached{route,model}`.
The clock is the records' own end times, so a replay of old data judges it as it happened.
Route-level anomalies carry no trace or span id, only the route and request model.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.config.types import Duration
from processor.model.batch import Batch
from processor.model.gen.tokenstream.v1.stream_pb2 import SloStatus
from processor.model.records import StreamAnomaly, StreamRecord
from processor.processors.slo.config import SloConfig
from processor.processors.slo.window import TtftSamples

Key = tuple[str, str]  # (route, request model); "" when unknown


class SloProcessor(ComponentBase):
    #: Adds anomalies and statuses to the batch.
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: SloConfig, next_consumer: Consumer) -> None:
        self.next = next_consumer
        self.config = config
        self.series: OrderedDict[Key, TtftSamples] = OrderedDict()
        self.now_ns = 0  # the latest record time seen: time only moves forward

    async def consume(self, batch: Batch) -> None:
        touched: dict[Key, None] = {}
        for record in batch.streams:
            sample = _sample(record)
            if sample is None:
                continue
            key = (_label(record, "route"), _label(record, "request_model"))
            self._samples(key).add(*sample)
            self.now_ns = max(self.now_ns, sample[0])
            touched[key] = None
        for key in touched:
            self._evaluate(key, batch)
        await self.next.consume(batch)

    def _samples(self, key: Key) -> TtftSamples:
        samples = self.series.get(key)
        if samples is None:
            config = self.config
            samples = self.series[key] = TtftSamples(config.window, config.baseline_window, config.max_samples)
            if len(self.series) > config.max_series:
                self.series.popitem(last=False)  # the least recently seen pair: its state starts over if it returns
        else:
            self.series.move_to_end(key)
        return samples

    def _evaluate(self, key: Key, batch: Batch) -> None:
        samples = self.series[key]
        samples.slide(self.now_ns)
        count = len(samples.window)
        if count < self.config.min_streams:
            return  # too little data to judge: no flapping on a quiet route
        threshold, source = self._threshold(key, samples)
        if threshold is None:
            return
        observed = samples.window_p95()
        breached = observed > threshold
        status = SloStatus(breached=breached, observed_p95_ttft_s=observed, threshold_s=threshold, streams=count,
                           time_unix_nano=self.now_ns)
        _set_labels(status, key)
        batch.slo_status.append(status)
        if breached != samples.breached:
            samples.breached = breached
            batch.anomalies.append(self._anomaly(key, breached, observed, threshold, source, count))

    def _threshold(self, key: Key, samples: TtftSamples) -> tuple[float | None, str]:
        config = self.config
        explicit = config.threshold_for(*key)
        if explicit is not None:
            return explicit, "configured"
        if config.baseline_factor is not None and len(samples.baseline) >= config.min_streams:
            return samples.baseline_p95() * config.baseline_factor, \
                f"baseline p95 x {config.baseline_factor:g} over {_duration(config.baseline_window)}"
        return config.default_p95_ttft, "default"

    def _anomaly(self, key: Key, breached: bool, observed: float, threshold: float, source: str,
                 count: int) -> StreamAnomaly:
        route, model = key
        window = _duration(self.config.window)
        measured = (f"p95 time to first token {observed:.3f} s over {window} ({count} streams) on route "
                    f"{route or '(unknown)'} model {model or '(unknown)'}")
        if breached:
            detail = f"{measured} is above the threshold {threshold:.3f} s ({source})"
        else:
            detail = f"recovered: {measured} is back within the threshold {threshold:.3f} s ({source})"
        anomaly = StreamAnomaly(kind="slow_first_token", severity="warning" if breached else "info",
                                time_unix_nano=self.now_ns, detail=detail)
        _set_labels(anomaly, key)
        return anomaly


def _sample(record: StreamRecord) -> tuple[int, float] | None:
    """(time ns, ttft s) of a record with a known TTFT, timed by its end (or start when the end is unknown)."""
    if not record.HasField("ttft_s") or math.isnan(record.ttft_s):
        return None
    for field in ("end_time_unix_nano", "start_time_unix_nano"):
        if record.HasField(field):
            return getattr(record, field), record.ttft_s
    return None


def _label(record: StreamRecord, name: str) -> str:
    return getattr(record, name) if record.HasField(name) else ""


def _set_labels(message, key: Key) -> None:
    route, model = key
    if route:
        message.route = route
    if model:
        message.request_model = model


def _duration(seconds: Duration) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"
