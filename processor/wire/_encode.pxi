# Encoding Python values as KeyValue fields, with the stream enrichment's mapping (processor/stream/enrich.py
# `set_value`): bool, int (int64), float, bytes (as hex text), list / tuple (array), anything else as str().

from libc.string cimport memcpy as _memcpy

cdef bytes varint_bytes(uint64_t value):
    cdef uint8_t buffer[10]
    cdef uint8_t* end = put_varint(buffer, value)
    return PyBytes_FromStringAndSize(<const char*>buffer, end - buffer)


cdef bytes len_field(uint32_t tag, bytes payload):
    return varint_bytes(tag) + varint_bytes(len(payload)) + payload


cdef bytes encode_any(object value):
    """An AnyValue's encoding (its oneof member always written, as upb writes a set member)."""
    cdef double d
    cdef uint64_t bits
    cdef int64_t number
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, int):
        if not -(1 << 63) <= value < (1 << 63):
            raise ValueError(f"Value out of range: {value}")
        number = value
        return b"\x18" + varint_bytes(<uint64_t>number)
    if isinstance(value, float):
        d = value
        _memcpy(&bits, &d, 8)
        return b"\x21" + PyBytes_FromStringAndSize(<const char*>&bits, 8)
    if isinstance(value, bytes):
        return len_field(1 << 3 | WT_LEN, value.hex().encode())
    if isinstance(value, (list, tuple)):
        return len_field(5 << 3 | WT_LEN, b"".join([len_field(1 << 3 | WT_LEN, encode_any(item)) for item in value]))
    return len_field(1 << 3 | WT_LEN, str(value).encode("utf-8"))


cdef bytes encode_kv(str key, bytes any_value):
    encoded = key.encode("utf-8")
    head = len_field(1 << 3 | WT_LEN, encoded) if encoded else b""
    return head + len_field(2 << 3 | WT_LEN, any_value)


cdef set keys_of(const uint8_t* p, const uint8_t* end, uint32_t field_tag):
    """The keys of the repeated KeyValue field `field_tag` of the message [p, end) (values not decoded)."""
    cdef const uint8_t* q
    cdef size_t n
    cdef const uint8_t* key
    cdef size_t key_n
    cdef uint32_t tag
    cdef int rc
    cdef set out = set()
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == field_tag:
            check(rd_len(&p, end, &q, &n))
            check(kv_key(q, q + n, &key, &key_n))
            out.add(py_str(key, key_n))
        else:
            check(skip_field(&p, end, tag, 1))
    return out


cdef int kv_key(const uint8_t* p, const uint8_t* end, const uint8_t** key, size_t* key_n) noexcept nogil:
    """A KeyValue's (last) key, its value skipped."""
    cdef uint32_t tag
    cdef int rc
    cdef const uint8_t* q
    cdef size_t n
    key[0] = p
    key_n[0] = 0
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            return rc
        if tag == (1 << 3 | WT_LEN):
            rc = rd_len(&p, end, key, key_n)
        else:
            rc = skip_field(&p, end, tag, 1)
        if rc:
            return rc
    return 0


def add_attributes(index, additions):
    """`additions`: {span row: {key: value}}; a None value, or a key the span already has, is skipped."""
    cdef Cols C
    cdef _Edits edits = _Edits()
    cdef Py_ssize_t row
    load_cols(index, &C)
    for row, values in additions.items():
        if row < 0 or row >= C.n:
            raise IndexError(f"span row {row} out of range (the request has {C.n} spans)")
        present = None
        fields = []
        for key, value in values.items():
            if value is None:
                continue
            if present is None:
                present = keys_of(C.base + C.item_start[row], C.base + C.item_end[row], 9 << 3 | WT_LEN)
            if key not in present:
                fields.append(len_field(9 << 3 | WT_LEN, encode_kv(key, encode_any(value))))
                present.add(key)
        if fields:
            edits.add(C.item_start[row], APPEND_AT, OP_APPEND, b"".join(fields))
    return apply_edits(index.buf, edits)
