"""The stream_metrics connector's parts: exponential histograms against the OpenTelemetry SDK's own aggregation,
the cumulative and delta writer over several sends, and its config in a pipeline."""

from __future__ import annotations

import random

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View

from processor.config.validate import Problems, validate
from processor.connectors.stream_metrics.exponential import ExponentialSeries
from processor.connectors.stream_metrics.otlp_metrics import OtlpMetricsWriter
from processor.exporters.prometheus.metrics import StreamMetrics
from processor.model.records import StreamRecord

LABELS = ("openai", "gpt-4o-mini", "/v1/chat", "acme")


def _sdk_exponential(values: list[float], max_size: int):
    reader = InMemoryMetricReader()
    view = View(instrument_name="h", aggregation=ExponentialBucketHistogramAggregation(max_size=max_size))
    provider = MeterProvider(metric_readers=[reader], views=[view])
    histogram = provider.get_meter("t").create_histogram("h")
    for value in values:
        histogram.record(value)
    (point,) = reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    provider.shutdown()
    return point


@pytest.mark.parametrize("seed,max_size,draw", [
    (1, 160, lambda rng: rng.lognormvariate(-1.0, 1.0)),  # TTFT-like seconds
    (2, 160, lambda rng: float(rng.randint(0, 4000))),  # token counts, zeros included
    (3, 20, lambda rng: rng.uniform(0.001, 100.0)),  # few buckets: several downscales
    (4, 160, lambda rng: 2.0 ** rng.randint(-8, 8)),  # exact powers of two: bucket edges
])
def test_exponential_buckets_are_the_sdks(seed, max_size, draw):
    rng = random.Random(seed)
    values = [draw(rng) for _ in range(2000)]
    ours = ExponentialSeries(max_size)
    for value in values:
        ours.record(value)
    sdk = _sdk_exponential(values, max_size)
    assert (ours.reported_scale, ours.zero_count, ours.count) == (sdk.scale, sdk.zero_count, sdk.count)
    # The SDK leaves the spare room of its bucket array as trailing zeros: the same histogram.
    assert (ours.positive.offset, _trimmed(ours.positive.counts)) == (sdk.positive.offset,
                                                                       _trimmed(sdk.positive.bucket_counts))
    assert ours.total == pytest.approx(sdk.sum) and (ours.min, ours.max) == (sdk.min, sdk.max)


def _trimmed(counts) -> list[int]:
    counts = list(counts)
    while counts and counts[-1] == 0:
        counts.pop()
    return counts


def test_a_delta_of_exponential_series_is_what_was_recorded_since():
    rng = random.Random(9)
    series = ExponentialSeries(20)
    for _ in range(100):
        series.record(rng.uniform(0.5, 2.0))
    earlier = series.snapshot()
    later_values = [rng.uniform(0.001, 1000.0) for _ in range(300)]  # forces downscales after the snapshot
    for value in later_values:
        series.record(value)
    alone = ExponentialSeries(20)
    alone.scale = series.scale  # the same resolution, to compare bucket by bucket
    for value in later_values:
        alone.record(value)
    delta = series.minus(earlier)
    assert delta.count == 300 and delta.total == pytest.approx(sum(later_values))
    nonzero = {delta.positive.offset + i: c for i, c in enumerate(delta.positive.counts) if c}
    assert nonzero == {alone.positive.offset + i: c for i, c in enumerate(alone.positive.counts) if c}


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _writer(delta: bool, clock: _Clock) -> tuple[StreamMetrics, OtlpMetricsWriter]:
    metrics = StreamMetrics(namespace=None, const_labels={"region": "eu"}, limit=2, ttl=60, clock=clock,
                            on_overflow=lambda _: None)
    ns = iter(range(1, 10**6))
    return metrics, OtlpMetricsWriter(metrics, delta=delta, namespace=None, const_labels={"region": "eu"},
                                      resource_attributes={"service.name": "t"}, clock_ns=lambda: next(ns) * 10**9)


def _points(request, name: str) -> list:
    metric = next(m for m in request.resource_metrics[0].scope_metrics[0].metrics if m.name == name)
    return list(getattr(metric, metric.WhichOneof("data")).data_points)


def _stream(ttft: float = 0.3) -> StreamRecord:
    return StreamRecord(outcome="completed", ttft_s=ttft, output_tokens=20, input_tokens=5, stall_count=1)


def test_cumulative_keeps_each_series_start_and_starts_anew_after_expiry():
    clock = _Clock()
    metrics, writer = _writer(False, clock)
    metrics.observe(_stream(), LABELS)
    first, commit = writer.request()
    commit()
    metrics.observe(_stream(0.6), LABELS)
    second, commit = writer.request()
    commit()
    ttft = "gen_ai.server.time_to_first_token"
    (a,), (b,) = _points(first, ttft), _points(second, ttft)
    assert (a.count, b.count) == (1, 2) and b.sum == pytest.approx(0.9)
    assert a.start_time_unix_nano == b.start_time_unix_nano < a.time_unix_nano < b.time_unix_nano
    attributes = {kv.key: kv.value.string_value for kv in b.attributes}
    assert attributes == {"region": "eu", "provider": "openai", "model": "gpt-4o-mini", "route": "/v1/chat",
                          "tenant": "acme"}
    clock.now += 120  # past metric_expiration: the series goes, and comes back as a new one
    metrics.observe(_stream(), LABELS)
    third, commit = writer.request()
    (c,) = _points(third, "gen_ai.server.time_to_first_token")
    assert c.count == 1 and c.start_time_unix_nano > b.start_time_unix_nano


def test_delta_sends_what_changed_and_again_what_a_refused_send_held():
    clock = _Clock()
    metrics, writer = _writer(True, clock)
    metrics.observe(_stream(), LABELS)
    first, commit = writer.request()
    commit()
    nothing, commit = writer.request()
    commit()
    assert not nothing.resource_metrics[0].scope_metrics[0].metrics  # untouched series are not sent
    clock.now += 1
    metrics.observe(_stream(), LABELS)
    refused, _ = writer.request()  # the metrics pipeline refused it: not committed
    clock.now += 1
    metrics.observe(_stream(), LABELS)
    retried, commit = writer.request()
    commit()
    (tokens,) = [p for p in _points(retried, "gen_ai.client.token.usage")
                 if {kv.key: kv.value.string_value for kv in p.attributes}["gen_ai.token.type"] == "output"]
    assert tokens.count == 2 and tokens.sum == 40  # both streams since the first send
    (streams,) = _points(retried, "llm.streams")
    assert streams.as_double == 2
    assert streams.start_time_unix_nano == 3 * 10**9  # the last send that went through (the empty one)
    assert _points(first, "llm.streams")[0].time_unix_nano == 2 * 10**9


def test_the_cardinality_cap_is_the_prometheus_exporters(tmp_path):
    clock = _Clock()
    metrics, writer = _writer(False, clock)
    for tenant in ("a", "b", "c", "d"):
        metrics.observe(_stream(), ("openai", "m", "/r", tenant))
    request, _ = writer.request()
    tenants = sorted({kv.value.string_value for p in _points(request, "llm.stream.stalls") for kv in p.attributes
                      if kv.key == "tenant"})
    assert tenants == ["__overflow__", "a", "b"]


def _pipeline(connector: dict, metrics_exporters: list[str], traces_exporters: list[str]) -> dict:
    return {"receivers": {"otlp": {}},
            "exporters": {"debug": {}},
            "connectors": {"stream_metrics": connector},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": traces_exporters},
                                      "metrics": {"receivers": ["stream_metrics"], "exporters": metrics_exporters}}}}


def test_a_connector_pipeline_validates():
    config = validate(_pipeline({"temporality": "delta", "histogram": "exponential"}, ["debug"],
                                ["debug", "stream_metrics"]))
    metrics = next(p for p in config.pipelines if p.id == "metrics")
    assert metrics.from_connectors and not metrics.receivers


def test_connector_mistakes_are_named():
    with pytest.raises(Problems) as problems:
        validate(_pipeline({"temporality": "sometimes", "interval": "0s"}, ["debug"], ["debug"]))
    text = "\n".join(problems.value.errors)
    assert "connectors::stream_metrics::temporality" in text
    assert "connectors::stream_metrics::interval: interval must be more than 0" in text
    with pytest.raises(Problems) as problems:
        validate(_pipeline({}, ["debug"], ["debug"]))
    assert "connectors::stream_metrics: is a receiver of metrics but an exporter of no pipeline" in \
        "\n".join(problems.value.errors)
    with pytest.raises(Problems) as problems:
        document = _pipeline({}, ["debug"], ["debug", "stream_metrics"])
        document["service"]["pipelines"]["logs"] = {"receivers": ["stream_metrics"], "exporters": ["debug"]}
        validate(document)
    assert 'connector "stream_metrics" feeds metrics, not logs' in "\n".join(problems.value.errors)


async def test_the_connector_sends_again_what_the_metrics_pipeline_could_not_take():
    from processor.component import Kind
    from processor.connectors.stream_metrics import StreamMetricsConfig, StreamMetricsConnector
    from processor.errors import PermanentError, RetryableError
    from processor.model.batch import Batch, Signal
    from processor.service.fanout import SignalRouter
    from processor.testing import FailingConsumer, SinkConsumer, create_settings

    sink = SinkConsumer()
    route = SignalRouter({Signal.METRICS: FailingConsumer(RetryableError("metrics pipeline full"))})
    connector = StreamMetricsConnector(create_settings("stream_metrics", Kind.CONNECTOR),
                                       StreamMetricsConfig(temporality="delta"), route)
    batch = Batch.empty(Signal.TRACES)
    batch.streams.append(StreamRecord(outcome="completed", provider="openai", ttft_s=0.2))
    await connector.consume(batch)
    await connector.flush()  # refused, retryably: nothing is marked sent
    route.routes[Signal.METRICS] = sink
    await connector.flush()
    (streams,) = [m for b in sink.batches for m in b.request.resource_metrics[0].scope_metrics[0].metrics
                  if m.name == "llm.streams"]
    assert streams.sum.data_points[0].as_double == 1
    route.routes[Signal.METRICS] = FailingConsumer(PermanentError("refused"))
    await connector.consume(batch)
    await connector.flush()  # refused for good: dropped, not sent again
    route.routes[Signal.METRICS] = sink
    sink.reset()
    await connector.flush()
    assert not sink.batches
