# cython: language_level=3
"""The Kafka sender's per-record loops, compiled. Import it through `processor.kafka.route`, whose pure-Python
functions are the reference this must match (tests/kafka/test_route.py runs both)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint32_t


cdef inline uint32_t _murmur2(const unsigned char* key, Py_ssize_t length) noexcept nogil:
    cdef uint32_t m = 0x5BD1E995U
    cdef uint32_t h = <uint32_t>0x9747B28CU ^ <uint32_t>length
    cdef uint32_t k
    cdef Py_ssize_t i, words = length // 4
    for i in range(0, words * 4, 4):
        k = (<uint32_t>key[i]) | (<uint32_t>key[i + 1] << 8) | (<uint32_t>key[i + 2] << 16) | \
            (<uint32_t>key[i + 3] << 24)
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


def murmur2(const unsigned char[:] key):
    if key.shape[0] == 0:
        return _murmur2(<const unsigned char*>b"", 0)
    return _murmur2(&key[0], key.shape[0])


def route(list records, Py_ssize_t start, str topic, tuple headers, Py_ssize_t value_limit, Py_ssize_t key_limit,
          list partitions):
    cdef Py_ssize_t n = len(records), count = len(partitions), i = start, index
    cdef list groups = [None] * count
    cdef list group
    cdef object record, key, value
    if count == 0:
        return start, {}
    while i < n:
        record = records[i]
        key = record.key
        value = record.value
        if type(key) is not bytes or PyBytes_GET_SIZE(key) >= key_limit or type(value) is not bytes \
                or PyBytes_GET_SIZE(value) >= value_limit or record.attempts:
            break
        if record.topic is not topic and record.topic != topic:
            break
        if record.headers is not headers and record.headers != headers:
            break
        if count == 1:
            index = 0
        else:
            index = (_murmur2(<const unsigned char*>PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key))
                     & 0x7FFFFFFF) % count
        group = groups[index]
        if group is None:
            group = groups[index] = []
        group.append(record)
        i += 1
    return i, {partitions[index]: groups[index] for index in range(count) if groups[index] is not None}


def append(builder, list records, Py_ssize_t start, list headers, timestamp):
    if builder._closed:
        return 0
    add = builder._builder.append
    cdef Py_ssize_t n = len(records), i = start, offset = builder._relative_offset
    cdef object record
    try:
        while i < n:
            record = records[i]
            if add(offset, timestamp, record.key, record.value, headers) is None:
                builder.close()
                break
            offset += 1
            i += 1
    finally:
        builder._relative_offset = offset
    return i - start
