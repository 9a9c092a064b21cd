"""The Kafka sender's per-record loops: a round's records grouped by the partition the default partitioner picks, and
a run of them appended to one of aiokafka's batches. Compiled (`_route.pyx`) when built; these pure-Python
functions are the reference it must match, and run when it is not built or with TOKENSTREAM_PURE_PYTHON=1.

`route(records, start, topic, headers, value_limit, key_limit, partitions) -> (stop, {partition: [record]})`
    From `start` on, the records that take the plain path: a first attempt to `topic` with these `headers`, a bytes
    key under `key_limit` and a bytes value under `value_limit` bytes. Each goes to the partition
    `processor.kafka.partitioner.partition(key, partitions, ...)` gives (murmur2 of the key, as every Kafka client),
    in order. `stop` is the first record that does not (`start` itself when none does).
`murmur2(key) -> int`
    Kafka's murmur2 of a record key.
`append(builder, records, start, headers, timestamp) -> taken`
    What `BatchBuilder.append(timestamp=timestamp, key=r.key, value=r.value, headers=headers)` does for each record
    from `start` on, until the batch is full (it is then closed) or the records end; how many it took. It calls
    aiokafka's record builder directly (aiokafka is pinned: tests/kafka/test_route.py compares the bytes built).
"""

from __future__ import annotations

import os
import struct

_MASK = 0xFFFFFFFF
_M = 0x5BD1E995
_SEED = 0x9747B28C


def python_murmur2(data: bytes) -> int:
    """Kafka's murmur2 of a record key (the Java client's, aiokafka's), four bytes at a time."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & ~3
    extra = length % 4
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def python_route(records: list, start: int, topic: str, headers: tuple, value_limit: int, key_limit: int,
                 partitions: list[int]) -> tuple[int, dict[int, list]]:
    count = len(partitions)
    if count == 0:
        return start, {}
    groups: list[list | None] = [None] * count
    index = start
    while index < len(records):
        record = records[index]
        key, value = record.key, record.value
        if type(key) is not bytes or len(key) >= key_limit or type(value) is not bytes \
                or len(value) >= value_limit or record.attempts:
            break
        if record.topic != topic or record.headers != headers:
            break
        at = 0 if count == 1 else (python_murmur2(key) & 0x7FFFFFFF) % count
        if groups[at] is None:
            groups[at] = []
        groups[at].append(record)
        index += 1
    return index, {partitions[at]: group for at, group in enumerate(groups) if group is not None}


def python_append(builder, records: list, start: int, headers: list, timestamp: int | None) -> int:
    if builder._closed:
        return 0
    add = builder._builder.append
    offset = builder._relative_offset
    index = start
    try:
        while index < len(records):
            record = records[index]
            if add(offset, timestamp, record.key, record.value, headers) is None:
                builder.close()
                break
            offset += 1
            index += 1
    finally:
        builder._relative_offset = offset
    return index - start


try:  # the compiled loops, when built (the tests run both)
    from processor.kafka import _route as native
except ImportError:
    native = None

IMPLEMENTATION = "native" if native is not None and os.environ.get("TOKENSTREAM_PURE_PYTHON") != "1" else "reference"
route = native.route if IMPLEMENTATION == "native" else python_route
append = native.append if IMPLEMENTATION == "native" else python_append
murmur2 = native.murmur2 if IMPLEMENTATION == "native" else python_murmur2
