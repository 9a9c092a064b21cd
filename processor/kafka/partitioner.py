"""The default Kafka partitioner (murmur2 of the key, as the Java client and aiokafka), faster.

aiokafka's murmur2 is a byte-by-byte Python loop; with one record per trace it was ~10% of the CPU under
load (bench/README.md). This one reads the key four bytes at a time and gives the same partition for every
key, so records land where any Kafka client would put them; compiled (processor/kafka/_route.pyx) when built, the
Python one (route.py) then being the reference the tests compare it with. One partition needs no hash at all.
"""

from __future__ import annotations

import random

from processor.kafka.route import murmur2, python_murmur2

__all__ = ["murmur2", "partition", "python_murmur2"]


def partition(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's `partitioner(key_bytes, all_partitions, available_partitions)`."""
    if key is None:
        return random.choice(available or all_partitions)
    if len(all_partitions) == 1:
        return all_partitions[0]
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
