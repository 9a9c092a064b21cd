# Writers. Two engines:
# - regrouping (by_trace, select_spans): spans copied as whole fields under copies of their resource and scope
#   entries' other fields ("heads"); sizes computed first, then one exact-size bytes object written: memcpy only;
# - editing (drop_spans, drop_logs, add_attributes, drop_attributes): a list of edits (delete / replace a field,
#   append to a message) applied in one copy of the request, every enclosing length rewritten. Untouched fields
#   are copied as they came; only messages that contain an edit are walked.
# Every offset taken from an index is checked against the buffer first (check_index): a wrong index raises.

cdef enum:
    OP_DELETE = 0
    OP_REPLACE = 1
    OP_APPEND = 2

cdef uint64_t APPEND_AT = 0xFFFFFFFFFFFFFFFFULL


cdef struct Cols:
    const uint8_t* base
    size_t size
    Py_ssize_t n
    const unsigned long long* item_start
    const unsigned long long* item_end
    const unsigned int* item_resource
    const unsigned int* item_scope
    const unsigned char* flags
    const unsigned long long* resource_start
    const unsigned long long* resource_end
    const unsigned long long* scope_start
    const unsigned long long* scope_end
    Py_ssize_t resources
    Py_ssize_t scopes


cdef int bad_index(str why) except -1:
    raise WireError(f"the index does not describe this buffer: {why}")


cdef int load_cols(index, Cols* C) except -1:
    """Raw pointers to the index's columns, after checking their types, lengths and every offset."""
    cdef bytes data = index.buf
    cdef bint logs = isinstance(index, LogIndex)
    cdef carray.array item_start = index.log_start if logs else index.span_start
    cdef carray.array item_end = index.log_end if logs else index.span_end
    cdef carray.array item_resource = index.log_resource if logs else index.span_resource
    cdef carray.array item_scope = index.log_scope if logs else index.span_scope
    cdef carray.array flags = index.flags
    cdef carray.array resource_start = index.resource_start, resource_end = index.resource_end
    cdef carray.array scope_start = index.scope_start, scope_end = index.scope_end
    cdef Py_ssize_t i
    for column, code in ((item_start, "Q"), (item_end, "Q"), (item_resource, "I"), (item_scope, "I"), (flags, "B"),
                         (resource_start, "Q"), (resource_end, "Q"), (scope_start, "Q"), (scope_end, "Q")):
        if column.typecode != code:
            bad_index(f"a column has typecode {column.typecode!r}, not {code!r}")
    C.base = <const uint8_t*>PyBytes_AS_STRING(data)
    C.size = PyBytes_GET_SIZE(data)
    C.n = len(flags)
    C.resources = len(resource_start)
    C.scopes = len(scope_start)
    if (len(item_start) != C.n or len(item_end) != C.n or len(item_resource) != C.n or len(item_scope) != C.n
            or len(resource_end) != C.resources or len(scope_end) != C.scopes):
        bad_index("columns of different lengths")
    C.item_start = item_start.data.as_ulonglongs
    C.item_end = item_end.data.as_ulonglongs
    C.item_resource = item_resource.data.as_uints
    C.item_scope = item_scope.data.as_uints
    C.flags = flags.data.as_uchars
    C.resource_start = resource_start.data.as_ulonglongs
    C.resource_end = resource_end.data.as_ulonglongs
    C.scope_start = scope_start.data.as_ulonglongs
    C.scope_end = scope_end.data.as_ulonglongs
    for i in range(C.resources):
        if C.resource_start[i] > C.resource_end[i] or C.resource_end[i] > C.size:
            bad_index("a resource entry past the end")
    for i in range(C.scopes):
        if C.scope_start[i] > C.scope_end[i] or C.scope_end[i] > C.size:
            bad_index("a scope entry past the end")
    for i in range(C.n):
        if C.item_start[i] > C.item_end[i] or C.item_end[i] > C.size:
            bad_index("an item past the end")
        if C.item_resource[i] >= <unsigned int>C.resources or C.item_scope[i] >= <unsigned int>C.scopes:
            bad_index("an item's resource or scope row out of range")
    return 0


# ---------------------------------------------------------------- regrouping

cdef struct Head:
    size_t off   # in the heads scratch buffer
    size_t n
    int done

cdef struct Regroup:
    Cols* C
    Head* resource_heads
    Head* scope_heads
    Grow scratch     # bytes of the heads
    uint32_t child_tag


cdef int head_of(Regroup* R, const uint8_t* p, const uint8_t* end, Head* head) noexcept nogil:
    """Every field of a resource / scope entry but its children (tag 2), in order, into the scratch buffer."""
    cdef const uint8_t* field
    cdef uint32_t tag
    cdef int rc
    cdef size_t i, n
    cdef char* slot
    head.off = R.scratch.count
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            rc = skip_field(&p, end, tag, 1)
        if rc:
            return rc
        if tag != R.child_tag:
            n = p - field
            for i in range(n):
                slot = <char*>grow_push(&R.scratch)
                if slot == NULL:
                    return E_NOMEM
                slot[0] = <char>field[i]
    head.n = R.scratch.count - head.off
    head.done = 1
    return 0


cdef int ensure_heads(Regroup* R, uint32_t resource, uint32_t scope) noexcept nogil:
    cdef Cols* C = R.C
    cdef int rc = 0
    if not R.resource_heads[resource].done:
        rc = head_of(R, C.base + C.resource_start[resource], C.base + C.resource_end[resource],
                     R.resource_heads + resource)
    if rc == 0 and not R.scope_heads[scope].done:
        rc = head_of(R, C.base + C.scope_start[scope], C.base + C.scope_end[scope], R.scope_heads + scope)
    return rc


cdef inline size_t field_size(size_t payload) noexcept nogil:
    return 1 + varint_size(payload) + payload  # tags 1 and 2 are one byte


cdef object emit_rows(Regroup* R, const Py_ssize_t* rows, Py_ssize_t count):
    """The ExportTraceServiceRequest of `rows` (ascending): resource entry -> scope entry -> spans."""
    cdef Cols* C = R.C
    cdef Py_ssize_t i, j, k, blocks = 0
    cdef size_t total = 0, span, scope_payload, resource_payload
    cdef uint32_t r, s
    cdef int rc
    cdef size_t* sizes = <size_t*>malloc(sizeof(size_t) * (2 * count + 2))
    cdef uint8_t* out
    cdef const char* heads
    if sizes == NULL:
        raise MemoryError()
    try:
        # pass 1: the payload size of every scope block and resource block, in order
        i = 0
        while i < count:
            r = C.item_resource[rows[i]]
            rc = ensure_heads(R, r, C.item_scope[rows[i]])
            if rc:
                raise_code(rc)
            resource_payload = R.resource_heads[r].n
            k = blocks
            blocks += 1
            while i < count and C.item_resource[rows[i]] == r:
                s = C.item_scope[rows[i]]
                rc = ensure_heads(R, r, s)
                if rc:
                    raise_code(rc)
                scope_payload = R.scope_heads[s].n
                while i < count and C.item_scope[rows[i]] == s:
                    scope_payload += field_size(C.item_end[rows[i]] - C.item_start[rows[i]])
                    i += 1
                sizes[blocks] = scope_payload
                blocks += 1
                resource_payload += field_size(scope_payload)
            sizes[k] = resource_payload
            total += field_size(resource_payload)
        result = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>total)
        out = <uint8_t*>PyBytes_AS_STRING(result)
        heads = R.scratch.data
        # pass 2: write
        i = 0
        j = 0
        while i < count:
            r = C.item_resource[rows[i]]
            out[0] = 0x0A
            out = put_varint(out + 1, sizes[j])
            j += 1
            if R.resource_heads[r].n:  # no head bytes at all: `heads` is NULL (UBSan: NULL + 0, memcpy from NULL)
                memcpy(out, heads + R.resource_heads[r].off, R.resource_heads[r].n)
            out += R.resource_heads[r].n
            while i < count and C.item_resource[rows[i]] == r:
                s = C.item_scope[rows[i]]
                out[0] = 0x12
                out = put_varint(out + 1, sizes[j])
                j += 1
                if R.scope_heads[s].n:
                    memcpy(out, heads + R.scope_heads[s].off, R.scope_heads[s].n)
                out += R.scope_heads[s].n
                while i < count and C.item_scope[rows[i]] == s:
                    span = C.item_end[rows[i]] - C.item_start[rows[i]]
                    out[0] = 0x12
                    out = put_varint(out + 1, span)
                    memcpy(out, C.base + C.item_start[rows[i]], span)
                    out += span
                    i += 1
        return result
    finally:
        free(sizes)


cdef int raise_code(int rc) except -1:
    if rc == E_NOMEM:
        raise MemoryError()
    raise WireError(f"Error parsing message: {error_text(rc).decode()}")


cdef int regroup_init(Regroup* R, Cols* C) except -1:
    R.C = C
    R.child_tag = 2 << 3 | WT_LEN
    grow_init(&R.scratch, 1)
    R.resource_heads = <Head*>malloc(sizeof(Head) * (C.resources + 1))
    R.scope_heads = <Head*>malloc(sizeof(Head) * (C.scopes + 1))
    if R.resource_heads == NULL or R.scope_heads == NULL:
        regroup_free(R)
        raise MemoryError()
    memset(R.resource_heads, 0, sizeof(Head) * (C.resources + 1))
    memset(R.scope_heads, 0, sizeof(Head) * (C.scopes + 1))
    return 0


cdef void regroup_free(Regroup* R) noexcept:
    free(R.resource_heads)
    free(R.scope_heads)
    R.resource_heads = R.scope_heads = NULL
    grow_free(&R.scratch)


def select_spans(index, rows):
    """The spans at `rows` as an ExportTraceServiceRequest (request order, under their own resource and scope)."""
    cdef Cols C
    cdef Regroup R
    cdef Py_ssize_t i, count
    cdef Py_ssize_t* picked
    load_cols(index, &C)
    wanted = sorted(set(rows))
    count = len(wanted)
    if count and (wanted[0] < 0 or wanted[count - 1] >= C.n):
        raise IndexError(f"span row out of range (the request has {C.n} spans)")
    picked = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (count + 1))
    if picked == NULL:
        raise MemoryError()
    regroup_init(&R, &C)
    try:
        for i in range(count):
            picked[i] = wanted[i]
        return emit_rows(&R, picked, count)
    finally:
        free(picked)
        regroup_free(&R)


cdef inline uint64_t id_hash(const uint8_t* p) noexcept nogil:
    cdef uint64_t a, b
    memcpy(&a, p, 8)
    memcpy(&b, p + 8, 8)
    return (a ^ (b * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL


def by_trace(index):
    """One TracePart per trace id (first-appearance order); invalid spans left out; one whole valid trace: as is."""
    cdef Cols C
    cdef Regroup R
    cdef const uint8_t* ids = <const uint8_t*>PyBytes_AS_STRING(index.ids)
    cdef Py_ssize_t i, g, groups = 0, slot, valid = 0
    cdef size_t mask, table_size = 16
    cdef Py_ssize_t* table = NULL     # hash slot -> group + 1
    cdef Py_ssize_t* first = NULL     # group -> its first row
    cdef Py_ssize_t* counts = NULL    # group -> rows
    cdef Py_ssize_t* next_row = NULL  # row -> next row of its group, or -1
    cdef Py_ssize_t* last = NULL      # group -> its last row so far
    cdef Py_ssize_t* picked = NULL
    cdef Py_ssize_t row, k
    load_cols(index, &C)
    if PyBytes_GET_SIZE(index.ids) != C.n * 32:
        bad_index("ids of the wrong length")
    while table_size < <size_t>(2 * C.n):
        table_size *= 2
    mask = table_size - 1
    regroup_init(&R, &C)
    try:
        table = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * table_size)
        first = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (C.n + 1))
        counts = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (C.n + 1))
        next_row = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (C.n + 1))
        last = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (C.n + 1))
        picked = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (C.n + 1))
        if not (table and first and counts and next_row and last and picked):
            raise MemoryError()
        memset(table, 0, sizeof(Py_ssize_t) * table_size)
        with nogil:
            for i in range(C.n):
                next_row[i] = -1
                if not (C.flags[i] & F_VALID):
                    continue
                valid += 1
                slot = <Py_ssize_t>(id_hash(ids + i * 32) & mask)
                while True:
                    g = table[slot] - 1
                    if g < 0:
                        g = groups
                        groups += 1
                        table[slot] = g + 1
                        first[g] = last[g] = i
                        counts[g] = 1
                        break
                    if memcmp(ids + first[g] * 32, ids + i * 32, 16) == 0:
                        next_row[last[g]] = i
                        last[g] = i
                        counts[g] += 1
                        break
                    slot = (slot + 1) & mask
        if groups == 1 and valid == C.n:
            return [TracePart(index.trace_id(0), index.buf, C.n)]
        parts = []
        for g in range(groups):
            k = 0
            row = first[g]
            while row >= 0:
                picked[k] = row
                k += 1
                row = next_row[row]
            # tuple.__new__, not TracePart(...): a named tuple's __new__ is a Python function, a frame per trace
            parts.append(tuple.__new__(TracePart, (index.ids[first[g] * 32:first[g] * 32 + 16],
                                                   emit_rows(&R, picked, k), k)))
        return parts
    finally:
        free(table)
        free(first)
        free(counts)
        free(next_row)
        free(last)
        free(picked)
        regroup_free(&R)


# ---------------------------------------------------------------- editing

cdef struct Edit:
    uint64_t msg      # payload start of the message edited
    uint64_t field    # payload start of the field deleted / replaced; APPEND_AT for an append
    int op
    const uint8_t* data
    size_t n
    int applied

cdef struct Editor:
    const uint8_t* base
    Edit* edits
    size_t count
    Grow sizes       # new payload size of every message rewritten, in visiting order
    size_t cursor
    size_t next_edit  # first_at_least's answer to the last offset asked
    uint64_t asked    # that offset


cdef class _Edits:
    """Edits being collected; owns the bytes they insert."""

    cdef Grow edits
    cdef list keep

    def __cinit__(self):
        grow_init(&self.edits, sizeof(Edit))
        self.keep = []

    def __dealloc__(self):
        grow_free(&self.edits)

    cdef int add(self, uint64_t msg, uint64_t field, int op, bytes data) except -1:
        cdef Edit* e = <Edit*>grow_push(&self.edits)
        if e == NULL:
            raise MemoryError()
        e.msg = msg
        e.field = field
        e.op = op
        e.applied = 0
        if data is None:
            e.data = NULL
            e.n = 0
        else:
            self.keep.append(data)
            e.data = <const uint8_t*>PyBytes_AS_STRING(data)
            e.n = PyBytes_GET_SIZE(data)
        return 0


cdef int edit_order(const void* a, const void* b) noexcept nogil:
    cdef const Edit* x = <const Edit*>a
    cdef const Edit* y = <const Edit*>b
    if x.msg != y.msg:
        return -1 if x.msg < y.msg else 1
    if x.field != y.field:
        return -1 if x.field < y.field else 1
    return 0

cdef extern from "stdlib.h":
    void qsort(void* base, size_t count, size_t size, int (*compare)(const void*, const void*) noexcept nogil) nogil


cdef inline size_t first_at_least(Editor* E, uint64_t msg) noexcept nogil:
    """The first edit whose message starts at or after `msg`. A pass asks for offsets that never decrease (it visits
    the fields in order, depth first), so the answer moves forward from the last one: a search per field over
    thousands of edits (a redacted chunk event each) was most of the writers' time."""
    cdef size_t lo = 0, hi = E.count, mid
    if msg >= E.asked:
        lo = E.next_edit
        while lo < hi and E.edits[lo].msg < msg:
            lo += 1
        E.next_edit, E.asked = lo, msg
        return lo
    while lo < hi:
        mid = (lo + hi) // 2
        if E.edits[mid].msg < msg:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline Edit* own_edit(Editor* E, size_t lo, size_t hi, uint64_t field) noexcept nogil:
    """The edit of this message on the field whose payload starts at `field`, if any (edits[lo:hi] are its own)."""
    cdef size_t mid
    while lo < hi:
        mid = (lo + hi) // 2
        if E.edits[mid].field < field:
            lo = mid + 1
        elif E.edits[mid].field > field:
            hi = mid
        else:
            while mid > lo and E.edits[mid - 1].field == field:
                mid -= 1
            return E.edits + mid
    return NULL


cdef inline bint holds_edit(Editor* E, uint64_t start, uint64_t end) noexcept nogil:
    """Whether a message whose payload is [start, end] is edited or holds an edited message."""
    cdef size_t i = first_at_least(E, start)
    return i < E.count and E.edits[i].msg <= end


cdef int rewrite(Editor* E, const uint8_t* p, const uint8_t* end, uint8_t** out, size_t* size) noexcept nogil:
    """Measure (out NULL: the new payload size into `size`, and every rewritten message's size recorded) or write
    (`out`: the new payload, sizes taken back in the same order) the message [p, end)."""
    cdef uint64_t msg = p - E.base
    cdef size_t lo = first_at_least(E, msg)
    cdef size_t hi = lo
    cdef size_t total = 0, child, slot, i
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef const uint8_t* header_end
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    cdef Edit* e
    cdef Edit* replace
    cdef bint deleted
    while hi < E.count and E.edits[hi].msg == msg:
        hi += 1
    if out == NULL:
        if grow_push(&E.sizes) == NULL:
            return E_NOMEM
        slot = E.sizes.count - 1
    else:
        E.cursor += 1
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc:
            return rc
        if (tag & 7) == WT_LEN:
            rc = rd_len(&p, end, &q, &n)
            if rc:
                return rc
            e = own_edit(E, lo, hi, q - E.base) if hi > lo else NULL
            if e != NULL:
                replace = NULL
                deleted = False
                while e < E.edits + hi and e.field == <uint64_t>(q - E.base):  # several edits of one field:
                    e.applied = 1                                                # a delete wins
                    if e.op == OP_DELETE:
                        deleted = True
                    else:
                        replace = e
                    e += 1
                if not deleted and replace != NULL:
                    if out != NULL:
                        memcpy(out[0], replace.data, replace.n)
                        out[0] += replace.n
                    total += replace.n
                continue
            if holds_edit(E, q - E.base, q + n - E.base):
                if out == NULL:
                    rc = rewrite(E, q, q + n, NULL, &child)
                    if rc:
                        return rc
                else:
                    child = (<size_t*>E.sizes.data)[E.cursor]
                    out[0] = put_varint(put_varint(out[0], tag), child)
                    rc = rewrite(E, q, q + n, out, &child)
                    if rc:
                        return rc
                total += varint_size(tag) + varint_size(child) + child
                continue
        else:
            rc = skip_field(&p, end, tag, 1)
            if rc:
                return rc
        if out != NULL:
            memcpy(out[0], field, p - field)
            out[0] += p - field
        total += p - field
    for i in range(lo, hi):
        if E.edits[i].field == APPEND_AT:
            E.edits[i].applied = 1
            if out != NULL:
                memcpy(out[0], E.edits[i].data, E.edits[i].n)
                out[0] += E.edits[i].n
            total += E.edits[i].n
    if out == NULL:
        (<size_t*>E.sizes.data)[slot] = total
    size[0] = total
    return 0


cdef object apply_edits(bytes data, _Edits edits):
    """`data` with `edits` applied; every edit must land (else the index was not this buffer's)."""
    cdef Editor E
    cdef size_t size, i
    cdef uint8_t* out
    cdef uint8_t* start
    cdef int rc
    if edits.edits.count == 0:
        return data
    E.base = <const uint8_t*>PyBytes_AS_STRING(data)
    E.edits = <Edit*>edits.edits.data
    E.count = edits.edits.count
    E.cursor = E.next_edit = E.asked = 0
    grow_init(&E.sizes, sizeof(size_t))
    try:
        qsort(E.edits, E.count, sizeof(Edit), edit_order)
        rc = rewrite(&E, E.base, E.base + PyBytes_GET_SIZE(data), NULL, &size)
        if rc:
            raise_code(rc)
        for i in range(E.count):
            if not E.edits[i].applied:
                bad_index("an edit did not land on a field")
            E.edits[i].applied = 0
        result = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>size)
        start = out = <uint8_t*>PyBytes_AS_STRING(result)
        E.cursor = E.next_edit = E.asked = 0
        rc = rewrite(&E, E.base, E.base + PyBytes_GET_SIZE(data), &out, &size)
        if rc:
            raise_code(rc)
        if <size_t>(out - start) != size:
            raise AssertionError("wire edit wrote a different size than it measured")
        return result
    finally:
        grow_free(&E.sizes)


cdef object drop_items(index, rows):
    cdef Cols C
    cdef _Edits edits = _Edits()
    load_cols(index, &C)
    for row in sorted(set(rows)):
        if row < 0 or row >= C.n:
            raise IndexError(f"row {row} out of range (the request has {C.n} items)")
        edits.add(C.scope_start[C.item_scope[row]], C.item_start[row], OP_DELETE, None)
    return apply_edits(index.buf, edits)


def drop_spans(index, rows):
    """The request without the spans at `rows`; everything else as it came."""
    return drop_items(index, rows)


def drop_logs(index, rows):
    return drop_items(index, rows)


include "_encode.pxi"
include "_redact.pxi"
