"""The fast partitioner puts every key where aiokafka's default partitioner (the Java client's murmur2) does."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference_murmur2

from processor.kafka import route
from processor.kafka.partitioner import partition, python_murmur2

NATIVE = route.native
HASHES = {"python": python_murmur2, **({"compiled": NATIVE.murmur2} if NATIVE is not None else {})}


@pytest.mark.parametrize("name", sorted(HASHES))
def test_murmur2_matches_the_reference_for_every_key_length(name):
    murmur2 = HASHES[name]
    rng = random.Random(7)
    for length in list(range(40)) * 20 + [32] * 500:
        key = rng.randbytes(length)
        assert murmur2(key) == reference_murmur2(key), key


def test_partition_matches_the_default_partitioner_for_trace_id_keys():
    rng = random.Random(8)
    default = DefaultPartitioner()
    for _ in range(2000):
        key = rng.randbytes(16).hex().encode()
        partitions = list(range(rng.randint(1, 16)))
        assert partition(key, partitions, partitions) == default(key, partitions, partitions)


def test_a_record_without_key_goes_to_an_available_partition():
    assert partition(None, [0, 1, 2], [2]) == 2
