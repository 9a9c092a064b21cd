"""The default Kafka partitioner (murmur2 of the key, as the Java client and aiokafka), faster.

aiokafka's murmur2 is a byte-by-byte Python loop; with one record per trace it was ~10% of the CPU under
load (bench/README.md). This one reads the key four bytes at a time and gives the same partition for every
key, so records land where any Kafka client would put them; with the compiled wire core built, its C murmur2 (the
Python one is then the reference the tests compare it with). One partition needs no hash at all.
"""

from __future__ import annotations

import random
import struct

_MASK = 0xFFFFFFFF
_M = 0x5BD1E995
_SEED = 0x9747B28C


def python_murmur2(data: bytes) -> int:
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


def _choose():
    from processor import wire

    native = wire.native_backend()
    return native.murmur2 if native is not None and wire.IMPLEMENTATION == "native" else python_murmur2


murmur2 = _choose()


def partition(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's `partitioner(key_bytes, all_partitions, available_partitions)`."""
    if key is None:
        return random.choice(available or all_partitions)
    if len(all_partitions) == 1:
        return all_partitions[0]
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
