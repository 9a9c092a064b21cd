# Pass 2 helpers: AnyValue / KeyValue as plain Python values, for claimed spans and log records and lazy reads.
# The bytes were validated by pass 1; every read is still checked, and a failure raises rather than reads past.

from cpython.unicode cimport PyUnicode_DecodeUTF8
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE


cdef int broken(int rc) except -1:
    raise WireError(f"Error parsing message: {error_text(rc).decode()} (the bytes changed after they were scanned?)")


cdef inline int check(int rc) except -1:
    if rc:
        broken(rc)
    return 0


cdef inline str py_str(const uint8_t* p, size_t n):
    return PyUnicode_DecodeUTF8(<const char*>p, <Py_ssize_t>n, NULL)


cdef class _Merged:
    """An AnyValue being read: protobuf merges repeated occurrences (the last oneof member wins, the same
    array / kvlist member twice concatenates)."""

    cdef int kind
    cdef object value

    cdef object result(self):
        return self.value if self.kind != V_NONE else None


cdef int merge_any(const uint8_t* p, const uint8_t* end, _Merged m) except -1:
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef uint64_t v
    cdef double d
    cdef int rc
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == (1 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            m.kind = V_STRING
            m.value = py_str(q, n)
        elif tag == (2 << 3 | WT_VARINT):
            check(rd_varint(&p, end, &v))
            m.kind = V_BOOL
            m.value = v != 0
        elif tag == (3 << 3 | WT_VARINT):
            check(rd_varint(&p, end, &v))
            m.kind = V_INT
            m.value = <int64_t>v
        elif tag == (4 << 3 | WT_I64):
            check(rd_fixed64(&p, end, &v))
            memcpy(&d, &v, 8)
            m.kind = V_DOUBLE
            m.value = d
        elif tag == (5 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            if m.kind != V_ARRAY:
                m.kind = V_ARRAY
                m.value = []
            values_into(q, q + n, m.value, None)
        elif tag == (6 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            if m.kind != V_KVLIST:
                m.kind = V_KVLIST
                m.value = {}
            values_into(q, q + n, None, m.value)
        elif tag == (7 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            m.kind = V_BYTES
            m.value = PyBytes_FromStringAndSize(<const char*>q, <Py_ssize_t>n)
        elif tag == (8 << 3 | WT_VARINT):
            check(rd_varint(&p, end, &v))
            m.kind = V_STRINDEX
            m.value = <int32_t><uint32_t>v
        else:
            check(skip_field(&p, end, tag, 0))
    return 0


cdef int values_into(const uint8_t* p, const uint8_t* end, list array_out, dict kvlist_out) except -1:
    """The elements of an ArrayValue appended to `array_out`, or the entries of a KeyValueList set in `kvlist_out`."""
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == (1 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            if array_out is not None:
                array_out.append(any_value(q, q + n))
            else:
                kv_into(q, q + n, kvlist_out, False)
        else:
            check(skip_field(&p, end, tag, 0))
    return 0


cdef int kv_into(const uint8_t* p, const uint8_t* end, dict out, bint first) except -1:
    """One KeyValue set in `out`: its last key, its value fields merged (none: None). With `first`, a key `out`
    already has is left as it is: in an attribute list the first of a repeated key wins, as the Collector's
    pcommon Map.Get and otlp_attrs.find read it; a kvlist value keeps the last, as otlp_attrs.to_python does."""
    cdef const uint8_t* start = p
    cdef const uint8_t* value = NULL
    cdef size_t value_n = 0
    cdef const uint8_t* key = p
    cdef size_t key_n = 0
    cdef uint32_t tag
    cdef int rc, values = 0
    cdef _Merged m
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == (1 << 3 | WT_LEN):
            check(rd_len(&p, end, &key, &key_n))
        elif tag == (2 << 3 | WT_LEN):
            check(rd_len(&p, end, &value, &value_n))
            values += 1
        else:
            check(skip_field(&p, end, tag, 0))
    name = py_str(key, key_n)
    if first and name in out:
        return 0
    if values == 0:
        out[name] = None
    elif values == 1:
        out[name] = any_value(value, value + value_n)
    else:  # the value field repeated: its occurrences merge, in order
        m = _Merged()
        p = start
        while p < end:
            check(rd_tag(&p, end, &tag))
            if tag == (2 << 3 | WT_LEN):
                check(rd_len(&p, end, &value, &value_n))
                merge_any(value, value + value_n, m)
            else:
                check(skip_field(&p, end, tag, 0))
        out[name] = m.result()
    return 0


cdef object any_value(const uint8_t* p, const uint8_t* end):
    """One AnyValue payload as a Python value: a single scalar member read directly, anything else merged."""
    cdef const uint8_t* start = p
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef uint64_t v
    cdef double d
    cdef int rc
    cdef _Merged m
    if p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        q = p
        if tag == (1 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            if p == end:
                return py_str(q, n)
        elif tag == (3 << 3 | WT_VARINT):
            check(rd_varint(&p, end, &v))
            if p == end:
                return <int64_t>v
        elif tag == (2 << 3 | WT_VARINT):
            check(rd_varint(&p, end, &v))
            if p == end:
                return v != 0
        elif tag == (4 << 3 | WT_I64):
            check(rd_fixed64(&p, end, &v))
            if p == end:
                memcpy(&d, &v, 8)
                return d
    m = _Merged()
    merge_any(start, end, m)
    return m.result()


cdef dict attributes_of(const uint8_t* p, const uint8_t* end, uint32_t field_tag):
    """key -> value of the repeated KeyValue field `field_tag` of the message payload [p, end)."""
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    cdef dict out = {}
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == field_tag:
            check(rd_len(&p, end, &q, &n))
            kv_into(q, q + n, out, True)
        else:
            check(skip_field(&p, end, tag, 0))
    return out


cdef int submessages(const uint8_t* p, const uint8_t* end, uint32_t field_tag, list out) except -1:
    """(start, end) pointers, as ints, of every occurrence of the message field `field_tag` in [p, end)."""
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == field_tag:
            check(rd_len(&p, end, &q, &n))
            out.append((<size_t>q, <size_t>(q + n)))
        else:
            check(skip_field(&p, end, tag, 0))
    return 0
