from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from processor.model.batch import Batch, Signal
from processor.processors.batch.split import split_batch


def _resource_of(batch: Batch) -> list[tuple[str, str, str]]:
    """(service, scope, span) for every span, in order."""
    return [(rs.resource.attributes[0].value.string_value, ss.scope.name, s.name)
            for rs in batch.request.resource_spans for ss in rs.scope_spans for s in ss.spans]


def test_small_batch_is_returned_as_is(build):
    batch = build.traces(["a", "b"])
    assert split_batch(batch, 2) == [batch]
    assert split_batch(batch, 0) == [batch]


def test_parts_keep_resource_and_scope(build):
    batch = build.traces(["a", "b", "c"], service="one", scope="x")
    batch.merge(build.traces(["d", "e"], service="two", scope="y"))
    parts = split_batch(batch, 2)
    assert [p.item_count() for p in parts] == [2, 2, 1]
    assert [_resource_of(p) for p in parts] == [
        [("one", "x", "a"), ("one", "x", "b")],
        [("one", "x", "c"), ("two", "y", "d")],
        [("two", "y", "e")],
    ]
    assert len(parts[1].request.resource_spans) == 2


def test_logs_are_split_by_record(build):
    parts = split_batch(build.logs(["1", "2", "3"]), 2)
    bodies = [[r.body.string_value for rl in p.request.resource_logs for sl in rl.scope_logs for r in sl.log_records]
              for p in parts]
    assert bodies == [["1", "2"], ["3"]]


def test_metrics_are_split_by_data_point():
    request = ExportMetricsServiceRequest()
    scope = request.resource_metrics.add().scope_metrics.add()
    gauge = scope.metrics.add(name="queue", unit="1")
    for value in range(5):
        gauge.gauge.data_points.add(as_int=value)
    scope.metrics.add(name="no_points")
    parts = split_batch(Batch(Signal.METRICS, request), 2)
    assert [p.item_count() for p in parts] == [2, 2, 1]
    pieces = [(m.name, m.unit, [dp.as_int for dp in m.gauge.data_points])
              for p in parts for rm in p.request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
    assert pieces == [("queue", "1", [0, 1]), ("queue", "1", [2, 3]), ("queue", "1", [4]), ("no_points", "", [])]


@given(sizes=st.lists(st.integers(0, 7), min_size=1, max_size=6), max_items=st.integers(1, 9))
def test_no_part_is_too_big_and_nothing_is_lost_or_reordered(build, sizes, max_items):
    batch = build.traces([f"0-{i}" for i in range(sizes[0])])
    for n, size in enumerate(sizes[1:], 1):
        batch.merge(build.traces([f"{n}-{i}" for i in range(size)], service=f"svc{n}"))
    expected = _resource_of(batch)
    parts = split_batch(batch, max_items)
    assert all(p.item_count() <= max_items for p in parts)
    assert [row for p in parts for row in _resource_of(p)] == expected
