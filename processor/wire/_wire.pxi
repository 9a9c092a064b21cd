# Protobuf wire primitives. Every read is checked against `end` before it happens; a function returns 0, or an
# error code (< 0) and leaves its cursor where it was. The rules are upb's, as measured against it
# (tests/wire/test_upb_rules.py): varints up to 10 bytes (bits past 64 ignored), tags up to 5 bytes and at most
# 0xFFFFFFFF with a field number > 0 (inside an unknown group, 0 too), lengths up to 5 bytes, wire types 6 and 7
# refused, groups matched by field number, a known field with an unexpected wire type kept as an unknown field,
# strings strict UTF-8, nesting (messages and groups together) at most 100 below the root.

from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t, int64_t
from libc.string cimport memcpy, memcmp, memset
from libc.stdlib cimport malloc, realloc, free

cdef enum:
    MAX_DEPTH = 100
    WT_VARINT = 0
    WT_I64 = 1
    WT_LEN = 2
    WT_SGROUP = 3
    WT_EGROUP = 4
    WT_I32 = 5

cdef enum:
    E_TRUNCATED = -1
    E_VARINT = -2
    E_TAG = -3
    E_WIRETYPE = -4
    E_GROUP = -5
    E_DEPTH = -6
    E_UTF8 = -7
    E_LENGTH = -8
    E_NOMEM = -9
    E_INDEX = -10

cdef const char* error_text(int code) noexcept:
    if code == E_TRUNCATED:
        return "truncated field"
    if code == E_VARINT:
        return "varint longer than 10 bytes"
    if code == E_TAG:
        return "invalid tag (field number 0, or over 32 bits)"
    if code == E_WIRETYPE:
        return "invalid wire type"
    if code == E_GROUP:
        return "unmatched end-group tag"
    if code == E_DEPTH:
        return "nesting deeper than 100"
    if code == E_UTF8:
        return "string field is not valid UTF-8"
    if code == E_LENGTH:
        return "length past the end of the enclosing message"
    if code == E_INDEX:
        return "index does not match the buffer"
    return "out of memory"


cdef inline int rd_varint(const uint8_t** pp, const uint8_t* end, uint64_t* out) noexcept nogil:
    cdef const uint8_t* p = pp[0]
    cdef uint64_t value = 0
    cdef uint8_t byte
    cdef int i
    if p < end and p[0] < 0x80:  # one byte: most tags, lengths and small numbers
        out[0] = p[0]
        pp[0] = p + 1
        return 0
    for i in range(10):
        if p >= end:
            return E_TRUNCATED
        byte = p[0]
        p += 1
        if i < 9:
            value |= (<uint64_t>(byte & 0x7F)) << (7 * i)
        else:
            value |= (<uint64_t>(byte & 0x01)) << 63
        if byte < 0x80:
            out[0] = value
            pp[0] = p
            return 0
    return E_VARINT


cdef inline int rd_tag(const uint8_t** pp, const uint8_t* end, uint32_t* out) noexcept nogil:
    """A field's tag: field number 0 is refused (but see rd_group_tag)."""
    cdef const uint8_t* p = pp[0]
    if p < end and p[0] < 0x80:
        if p[0] < 8:
            return E_TAG
        out[0] = p[0]
        pp[0] = p + 1
        return 0
    cdef int rc = rd_group_tag(pp, end, out)
    if rc == 0 and (out[0] >> 3) == 0:
        pp[0] = p
        return E_TAG
    return rc


cdef inline int rd_group_tag(const uint8_t** pp, const uint8_t* end, uint32_t* out) noexcept nogil:
    """A tag inside an unknown group: upb takes field number 0 there (measured: tests/wire/test_upb_rules.py)."""
    cdef const uint8_t* p = pp[0]
    cdef uint64_t value = 0
    cdef uint8_t byte
    cdef int i
    for i in range(5):
        if p >= end:
            return E_TRUNCATED
        byte = p[0]
        p += 1
        value |= (<uint64_t>(byte & 0x7F)) << (7 * i)
        if byte < 0x80:
            if value > 0xFFFFFFFFULL:
                return E_TAG
            out[0] = <uint32_t>value
            pp[0] = p
            return 0
    return E_TAG


cdef inline int rd_len(const uint8_t** pp, const uint8_t* end, const uint8_t** payload, size_t* size) noexcept nogil:
    """A length-delimited payload: its start and size; the cursor moves past it."""
    cdef const uint8_t* p = pp[0]
    cdef uint64_t n
    cdef int rc = rd_varint(&p, end, &n)
    if rc:
        return rc
    if p - pp[0] > 5:  # upb reads a length as a 32-bit varint: at most 5 bytes (found by make fuzz)
        return E_LENGTH
    if n > <uint64_t>(end - p) or n > 0x7FFFFFFF:
        return E_LENGTH
    payload[0] = p
    size[0] = <size_t>n
    pp[0] = p + n
    return 0


cdef inline int rd_fixed64(const uint8_t** pp, const uint8_t* end, uint64_t* out) noexcept nogil:
    cdef const uint8_t* p = pp[0]
    if end - p < 8:
        return E_TRUNCATED
    memcpy(out, p, 8)  # little-endian host (x86-64, aarch64): the wire order
    pp[0] = p + 8
    return 0


cdef int skip_group(const uint8_t** pp, const uint8_t* end, uint32_t field, int depth) noexcept nogil:
    """Past the end-group tag of `field`; `depth` is the group's own depth."""
    cdef const uint8_t* p = pp[0]
    cdef uint32_t tag
    cdef int rc
    if depth > MAX_DEPTH:
        return E_DEPTH
    while True:
        rc = rd_group_tag(&p, end, &tag)
        if rc:
            return rc
        if (tag & 7) == WT_EGROUP:
            if (tag >> 3) != field:
                return E_GROUP
            pp[0] = p
            return 0
        rc = skip_field(&p, end, tag, depth)
        if rc:
            return rc


cdef int skip_field(const uint8_t** pp, const uint8_t* end, uint32_t tag, int depth) noexcept nogil:
    """Past the value of an unknown field whose tag was just read, in a message (or group) at `depth`."""
    cdef const uint8_t* p = pp[0]
    cdef uint64_t ignored
    cdef const uint8_t* payload
    cdef size_t size
    cdef int rc
    cdef uint32_t wire_type = tag & 7
    if wire_type == WT_VARINT:
        rc = rd_varint(&p, end, &ignored)
    elif wire_type == WT_I64:
        if end - p < 8:
            return E_TRUNCATED
        p += 8
        rc = 0
    elif wire_type == WT_LEN:
        rc = rd_len(&p, end, &payload, &size)
    elif wire_type == WT_I32:
        if end - p < 4:
            return E_TRUNCATED
        p += 4
        rc = 0
    elif wire_type == WT_SGROUP:
        rc = skip_group(&p, end, tag >> 3, depth + 1)
    elif wire_type == WT_EGROUP:
        return E_GROUP
    else:
        return E_WIRETYPE
    if rc == 0:
        pp[0] = p
    return rc


cdef inline bint ascii_only(const uint8_t* s, size_t n) noexcept nogil:
    """No byte >= 0x80: eight bytes at a time, the tail too (nearly every key, name and chunk is ASCII)."""
    cdef uint64_t seen = 0, word
    cdef size_t i = 0
    while i + 8 <= n:
        memcpy(&word, s + i, 8)
        seen |= word
        i += 8
    if i < n:
        word = 0
        memcpy(&word, s + i, n - i)
        seen |= word
    return (seen & 0x8080808080808080ULL) == 0


cdef bint utf8_valid(const uint8_t* s, size_t n) noexcept nogil:
    """Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF), as upb and Python check it."""
    cdef size_t i = 0
    cdef uint8_t c, c1
    while i < n:
        c = s[i]
        if c < 0x80:
            i += 1
        elif 0xC2 <= c <= 0xDF:
            if n - i < 2 or (s[i + 1] & 0xC0) != 0x80:
                return False
            i += 2
        elif 0xE0 <= c <= 0xEF:
            if n - i < 3 or (s[i + 2] & 0xC0) != 0x80:
                return False
            c1 = s[i + 1]
            if c == 0xE0:
                if not (0xA0 <= c1 <= 0xBF):
                    return False
            elif c == 0xED:
                if not (0x80 <= c1 <= 0x9F):
                    return False
            elif (c1 & 0xC0) != 0x80:
                return False
            i += 3
        elif 0xF0 <= c <= 0xF4:
            if n - i < 4 or (s[i + 2] & 0xC0) != 0x80 or (s[i + 3] & 0xC0) != 0x80:
                return False
            c1 = s[i + 1]
            if c == 0xF0:
                if not (0x90 <= c1 <= 0xBF):
                    return False
            elif c == 0xF4:
                if not (0x80 <= c1 <= 0x8F):
                    return False
            elif (c1 & 0xC0) != 0x80:
                return False
            i += 4
        else:
            return False
    return True


cdef inline int rd_string(const uint8_t** pp, const uint8_t* end, const uint8_t** text, size_t* size) noexcept nogil:
    cdef int rc = rd_len(pp, end, text, size)
    if rc == 0 and not ascii_only(text[0], size[0]) and not utf8_valid(text[0], size[0]):
        return E_UTF8
    return rc


cdef inline size_t varint_size(uint64_t value) noexcept nogil:
    cdef size_t n = 1
    while value >= 0x80:
        value >>= 7
        n += 1
    return n


cdef inline uint8_t* put_varint(uint8_t* out, uint64_t value) noexcept nogil:
    while value >= 0x80:
        out[0] = <uint8_t>((value & 0x7F) | 0x80)
        value >>= 7
        out += 1
    out[0] = <uint8_t>value
    return out + 1


# A growable array of fixed-size items (C memory, freed by its owner).
cdef struct Grow:
    char* data
    size_t count
    size_t capacity
    size_t item


cdef inline void grow_init(Grow* g, size_t item) noexcept nogil:
    g.data = NULL
    g.count = 0
    g.capacity = 0
    g.item = item


cdef inline void* grow_push(Grow* g) noexcept nogil:
    """Room for one more item (uninitialised), or NULL when out of memory."""
    cdef size_t capacity
    cdef char* data
    if g.count == g.capacity:
        capacity = g.capacity * 2 if g.capacity else 16
        data = <char*>realloc(g.data, capacity * g.item)
        if data == NULL:
            return NULL
        g.data = data
        g.capacity = capacity
    g.count += 1
    return g.data + (g.count - 1) * g.item


cdef inline void grow_free(Grow* g) noexcept nogil:
    free(g.data)
    g.data = NULL
    g.count = g.capacity = 0
