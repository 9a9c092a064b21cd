"""The sender's per-record loops (processor/kafka/route.py): the compiled ones give what the pure-Python reference
gives, which is what the partitioner and aiokafka's own BatchBuilder.append give record by record."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from processor.exporters.kafka.record import OutgoingRecord
from processor.kafka import headers as h
from processor.kafka import route
from processor.kafka.partitioner import partition

BACKENDS = {"python": (route.python_route, route.python_append),
            **({"compiled": (route.native.route, route.native.append)} if route.native is not None else {})}
SPANS = h.make_headers(h.PROTOBUF, h.SPANS_SCHEMA)


def _records(rng: random.Random, count: int, *, topic: str = "spans", headers=SPANS) -> list[OutgoingRecord]:
    return [OutgoingRecord("spans", topic, rng.randbytes(16).hex().encode(), rng.randbytes(rng.randint(1, 400)),
                           headers, rng.randint(1, 5)) for _ in range(count)]


@pytest.mark.parametrize("pure", ["1", ""])
def test_the_pure_python_loops_run_when_asked_and_the_compiled_ones_otherwise(pure):
    code = "from processor.kafka import route, partitioner; print(route.IMPLEMENTATION, route.route.__module__, " \
           "partitioner.murmur2.__module__)"
    env = {**os.environ, "TOKENSTREAM_PURE_PYTHON": pure}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    if pure or route.native is None:
        assert out.split() == ["reference", "processor.kafka.route", "processor.kafka.route"]
    else:
        assert out.split() == ["native", "processor.kafka._route", "processor.kafka._route"]


@pytest.mark.parametrize("name", sorted(BACKENDS))
@pytest.mark.parametrize("partitions", [[0], [3], list(range(4)), [5, 2, 9, 7, 1, 0, 4]])
def test_route_groups_each_record_on_the_partitioners_choice_in_order(name, partitions):
    route_, _ = BACKENDS[name]
    records = _records(random.Random(len(partitions)), 300)
    stop, groups = route_(records, 0, "spans", SPANS, 1 << 20, 1024, partitions)
    assert stop == len(records)
    expected: dict[int, list] = {}
    for record in records:
        expected.setdefault(partition(record.key, partitions, partitions), []).append(record)
    assert {p: [id(r) for r in g] for p, g in groups.items()} == {p: [id(r) for r in g] for p, g in expected.items()}
    assert list(groups) == [p for p in partitions if p in expected]  # in the order of the topic's partitions


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_route_stops_at_the_first_record_off_the_plain_path(name):
    route_, _ = BACKENDS[name]
    rng = random.Random(3)
    plain = _records(rng, 5)
    retried = _records(rng, 1)[0]
    retried.attempts = 1
    keyless = _records(rng, 1)[0]
    keyless.key = None
    big = OutgoingRecord("spans", "spans", b"k" * 32, b"v" * 2000, SPANS)
    long_key = OutgoingRecord("spans", "spans", b"k" * 64, b"v", SPANS)
    other_topic = _records(rng, 1, topic="streams")[0]
    other_headers = _records(rng, 1, headers=h.make_headers(h.JSON, h.SPANS_SCHEMA))[0]
    for odd in (retried, keyless, big, long_key, other_topic, other_headers):
        records = plain + [odd] + plain
        stop, groups = route_(records, 0, "spans", SPANS, 2000, 64, [0, 1])
        assert stop == 5, odd
        assert sum(len(g) for g in groups.values()) == 5
        assert route_(records, 5, "spans", SPANS, 2000, 64, [0, 1]) == (5, {})
        assert route_(records, 6, "spans", SPANS, 2000, 64, [0, 1])[0] == 11
    # The same headers read back from disk are another tuple: still the plain path.
    copied = _records(rng, 3, headers=tuple(tuple(pair) for pair in SPANS))
    assert route_(plain + copied, 0, "spans", SPANS, 2000, 64, [0])[0] == 8


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_append_builds_the_bytes_batch_builder_append_builds_until_the_batch_is_full(name):
    _, append = BACKENDS[name]
    records = _records(random.Random(4), 200)
    headers = list(SPANS)
    ours, theirs = BatchBuilder(16 * 1024, 0), BatchBuilder(16 * 1024, 0)
    taken = append(ours, records, 0, headers, 1_700_000_000_123)
    expected = 0
    for record in records:
        if theirs.append(timestamp=1_700_000_000_123, key=record.key, value=record.value, headers=headers) is None:
            break
        expected += 1
    assert 0 < taken == expected < len(records)  # the batch filled up
    assert ours.closed() and theirs.closed() and ours.record_count() == expected
    assert append(ours, records, taken, headers, None) == 0  # closed: takes nothing
    built = bytes(ours._build())
    assert built == bytes(theirs._build())
    read = list(DefaultRecordBatch(built))
    assert [(r.key, r.value, r.headers) for r in read] == [(r.key, r.value, headers) for r in records[:taken]]


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_append_continues_an_open_batch_from_any_record(name):
    _, append = BACKENDS[name]
    records = _records(random.Random(5), 10)
    builder = BatchBuilder(1 << 20, 0)
    builder.append(timestamp=1, key=b"first", value=b"v", headers=[])
    assert append(builder, records, 4, [], 7) == 6
    read = list(DefaultRecordBatch(bytes(builder._build())))
    assert [r.key for r in read] == [b"first"] + [r.key for r in records[4:]]
    assert [r.offset for r in read] == list(range(7))
