# murmur2 of a Kafka record key, as the Java client and aiokafka compute it (processor/kafka/partitioner.py holds the
# Python one, which the tests compare this with). It reads only `len(key)` bytes of the key, never past them.

from libc.stdint cimport uint32_t


def murmur2(const unsigned char[:] key):
    cdef Py_ssize_t length = key.shape[0]
    cdef uint32_t m = 0x5BD1E995
    cdef uint32_t h = 0x9747B28C ^ <uint32_t>length
    cdef uint32_t k
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t words = length // 4
    cdef Py_ssize_t w
    for w in range(words):
        i = w * 4
        k = (<uint32_t>key[i]) | (<uint32_t>key[i + 1] << 8) | (<uint32_t>key[i + 2] << 16) | (<uint32_t>key[i + 3] << 24)
        k *= m
        k ^= k >> 24
        k *= m
        h *= m
        h ^= k
    i = words * 4
    cdef Py_ssize_t extra = length - i
    if extra >= 3:
        h ^= <uint32_t>key[i + 2] << 16
    if extra >= 2:
        h ^= <uint32_t>key[i + 1] << 8
    if extra >= 1:
        h ^= <uint32_t>key[i]
        h *= m
    h ^= h >> 13
    h *= m
    h ^= h >> 15
    return h
