"""The stream metrics' aggregates as an OTLP ExportMetricsServiceRequest, cumulative or delta.

Cumulative: every live series, each with the start time of its aggregate (the send before it first appeared, so
a series that expired and came back starts anew). Delta: each series touched since the last send that went
through, less what that send held; a send the metrics pipeline refused is not counted as sent, so the next one
carries its changes too. Names, units and attributes come from the families (prometheus/metrics.py), so the OTLP
series are the Prometheus ones: a label `gen_ai_token_type` is the attribute `gen_ai.token.type`, and an empty
label (unknown) is no attribute.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from processor.connectors.stream_metrics.exponential import ExponentialHistogramFamily, ExponentialSeries
from processor.exporters.prometheus.experience import GaugeFamily
from processor.exporters.prometheus.metrics import OTEL_ATTRIBUTES, StreamMetrics
from processor.exporters.prometheus.series import HistogramFamily

CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
DELTA = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
SCOPE = "tokenstream.stream_metrics"


class OtlpMetricsWriter:
    def __init__(self, metrics: StreamMetrics, *, delta: bool, namespace: str | None, const_labels: Mapping[str, str],
                 resource_attributes: Mapping[str, str], clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.metrics = metrics
        self.delta = delta
        self.prefix = f"{namespace}." if namespace else ""
        self.const = [KeyValue(key=k, value={"string_value": v}) for k, v in const_labels.items()]
        self.resource = [KeyValue(key=k, value={"string_value": v}) for k, v in resource_attributes.items()]
        self.clock_ns = clock_ns
        self.started_ns = clock_ns()
        self._last_send_ns = self.started_ns
        #: (family name, key) -> (the series object, its start time, what was last sent of it, its `updated` then)
        self._sent: dict[tuple[str, tuple[str, ...]], tuple[object, int, object, float]] = {}

    def request(self) -> tuple[ExportMetricsServiceRequest, Callable[[], None]]:
        """The request for now, and `commit`, to call once the metrics pipeline has taken it."""
        now_ns = self.clock_ns()
        self.metrics.expire()
        request = ExportMetricsServiceRequest()
        resource_metrics = request.resource_metrics.add()
        resource_metrics.resource.attributes.extend(self.resource)
        scope_metrics = resource_metrics.scope_metrics.add()
        scope_metrics.scope.name = SCOPE
        sent: dict = {}
        for family in self.metrics.families():
            metric = metrics_pb2.Metric(name=self.prefix + family.otel_name, unit=family.unit,
                                        description=self.metrics.description(family))
            if self._write(metric, family, now_ns, sent):
                scope_metrics.metrics.append(metric)

        # Delta keeps what it last sent of the series it did not send now (untouched), while they live.
        live = {(family.name, key) for family in self.metrics.families() for key, _ in family.items()}

        def commit() -> None:
            kept = {slot: state for slot, state in self._sent.items() if slot in live} if self.delta else {}
            self._sent = {**kept, **sent}
            self._last_send_ns = now_ns

        return request, commit

    def _write(self, metric, family, now_ns: int, sent: dict) -> bool:
        """Fill `metric` with the family's points; False when it has none to send."""
        if isinstance(family, GaugeFamily):
            data = metric.gauge
        elif isinstance(family, HistogramFamily):
            exponential = isinstance(family, ExponentialHistogramFamily)
            data = metric.exponential_histogram if exponential else metric.histogram
            data.aggregation_temporality = DELTA if self.delta else CUMULATIVE
        else:
            data = metric.sum
            data.is_monotonic = True
            data.aggregation_temporality = DELTA if self.delta else CUMULATIVE
        for key, series in family.items():
            slot = (family.name, key)
            before = self._sent.get(slot)
            same = before is not None and before[0] is series  # else new, or expired and back: starts anew
            if self.delta and same and before[3] == series.updated:
                continue  # not touched since the last send
            start_ns = before[1] if same and not self.delta else self._last_send_ns
            point = data.data_points.add()
            point.attributes.extend(self.const)
            point.attributes.extend(_attributes(family.label_names, key))
            point.time_unix_nano = now_ns
            if not isinstance(family, GaugeFamily):
                point.start_time_unix_nano = start_ns
            _fill(point, family, series, before[2] if self.delta and same else None)
            sent[slot] = (series, start_ns, _snapshot(series) if self.delta else None, series.updated)
        return len(data.data_points) > 0


def _attributes(names: tuple[str, ...], values: tuple[str, ...]) -> list[KeyValue]:
    return [KeyValue(key=OTEL_ATTRIBUTES.get(name, name), value={"string_value": value})
            for name, value in zip(names, values, strict=True) if value]


def _snapshot(series) -> object:
    if isinstance(series, ExponentialSeries):
        return series.snapshot()
    if hasattr(series, "counts"):
        return (list(series.counts), series.total)
    return series.value


def _fill(point, family, series, earlier) -> None:
    """One data point's values: the aggregate, or (delta) the aggregate less `earlier`, its last sent snapshot."""
    if isinstance(series, ExponentialSeries):
        _fill_exponential(point, series if earlier is None else series.minus(earlier), earlier is None)
    elif isinstance(family, HistogramFamily):
        counts, total = list(series.counts), series.total
        if earlier is not None:
            counts = [now - then for now, then in zip(counts, earlier[0], strict=True)]
            total -= earlier[1]
        point.count = sum(counts)
        point.sum = total
        point.bucket_counts.extend(counts)
        point.explicit_bounds.extend(family.bounds)
    else:
        point.as_double = series.value - (earlier or 0.0) if not isinstance(family, GaugeFamily) else series.value


def _fill_exponential(point, series: ExponentialSeries, with_min_max: bool) -> None:
    point.scale = series.reported_scale
    point.count = series.count
    point.sum = series.total
    point.zero_count = series.zero_count
    point.positive.offset = series.positive.offset
    point.positive.bucket_counts.extend(series.positive.counts)
    point.negative.offset = series.negative.offset
    point.negative.bucket_counts.extend(series.negative.counts)
    if with_min_max and series.count:
        point.min = series.min
        point.max = series.max
