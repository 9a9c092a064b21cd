# Pass 1: one validating walk over every field of the request (all of it: upb refuses a bad string or a bad nested
# value anywhere, so this does too), recording a row per span / log record, and the claim bits from the rules.
# No Python object is made here.

cdef struct SpanRow:
    uint64_t start
    uint64_t end
    uint32_t resource
    uint32_t scope
    const uint8_t* trace_id
    const uint8_t* span_id
    const uint8_t* parent
    const uint8_t* name
    uint32_t trace_id_n
    uint32_t span_id_n
    uint32_t parent_n
    uint32_t name_n
    int32_t kind
    int32_t status
    uint64_t t0
    uint64_t t1
    uint32_t events
    uint8_t claim
    # a ClaimsSet scan: each member's own bits (rows the union claims only)
    uint8_t member_claim[MAX_MEMBERS_C]

cdef struct LogRow:
    uint64_t start
    uint64_t end
    uint32_t resource
    uint32_t scope
    const uint8_t* trace_id
    const uint8_t* span_id
    uint32_t trace_id_n
    uint32_t span_id_n
    uint64_t time
    uint64_t observed
    int32_t severity
    uint8_t claim

cdef struct Entry:
    uint64_t start
    uint64_t end
    uint32_t resource
    const uint8_t* name
    size_t name_n

cdef struct Scan:
    const uint8_t* base
    const Rules* rules
    # a ClaimsSet scan: `rules` is the union, these the members' (checked only where the union matched)
    const Rules* members[MAX_MEMBERS_C]
    int member_count
    Grow rows
    Grow resources
    Grow scopes
    const uint8_t* err_at

# The kind of an AnyValue's oneof member last seen (protobuf: the last member wins; the same message member twice
# merges), and where its string is when it is one.
cdef enum:
    V_NONE = 0
    V_STRING = 1
    V_BOOL = 2
    V_INT = 3
    V_DOUBLE = 4
    V_ARRAY = 5
    V_KVLIST = 6
    V_BYTES = 7
    V_STRINDEX = 8

cdef struct ValTrack:
    int kind
    const uint8_t* text
    size_t text_n

cdef enum:
    SPAN_KIND_CLIENT = 3


cdef inline int fail(Scan* S, const uint8_t* at, int rc) noexcept nogil:
    if S.err_at == NULL:
        S.err_at = at
    return rc


cdef inline int enter(int depth) noexcept nogil:
    return E_DEPTH if depth + 1 > MAX_DEPTH else 0


cdef int walk_anyvalue(Scan* S, const uint8_t* p, const uint8_t* end, int depth, ValTrack* track) noexcept nogil:
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef uint64_t v
    cdef int rc
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
                track.kind = V_STRING
                track.text = q
                track.text_n = n
            elif tag == (2 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
                track.kind = V_BOOL
            elif tag == (3 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
                track.kind = V_INT
            elif tag == (4 << 3 | WT_I64):
                rc = rd_fixed64(&p, end, &v)
                track.kind = V_DOUBLE
            elif tag == (5 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_values(S, q, q + n, depth + 1, 1)
                track.kind = V_ARRAY
            elif tag == (6 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_values(S, q, q + n, depth + 1, 0)
                track.kind = V_KVLIST
            elif tag == (7 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                track.kind = V_BYTES
            elif tag == (8 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
                track.kind = V_STRINDEX
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_values(Scan* S, const uint8_t* p, const uint8_t* end, int depth, bint array) noexcept nogil:
    """An ArrayValue (`array`: repeated AnyValue values = 1) or a KeyValueList (repeated KeyValue values = 1)."""
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef const uint8_t* key
    cdef size_t key_n
    cdef uint32_t tag
    cdef int rc
    cdef ValTrack track
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth)
                if rc == 0:
                    track.kind = V_NONE
                    if array:
                        rc = walk_anyvalue(S, q, q + n, depth + 1, &track)
                    else:
                        rc = walk_kv(S, q, q + n, depth + 1, &key, &key_n, &track)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_kv(Scan* S, const uint8_t* p, const uint8_t* end, int depth, const uint8_t** key, size_t* key_n,
                 ValTrack* track) noexcept nogil:
    """A KeyValue: its (last) key, and the kind of its value (all its value fields merged) in `track`."""
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef uint64_t v
    cdef int rc
    key[0] = p
    key_n[0] = 0
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_LEN):
                rc = rd_string(&p, end, key, key_n)
            elif tag == (2 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_anyvalue(S, q, q + n, depth + 1, track)
            elif tag == (3 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_attribute(Scan* S, const uint8_t** pp, const uint8_t* end, int depth, const uint8_t** key,
                        size_t* key_n, ValTrack* track) noexcept nogil:
    """A repeated KeyValue field of the message at `depth` (its tag just read)."""
    cdef const uint8_t* q
    cdef size_t n
    cdef int rc = rd_len(pp, end, &q, &n)
    if rc == 0:
        rc = enter(depth)
    if rc == 0:
        track.kind = V_NONE
        rc = walk_kv(S, q, q + n, depth + 1, key, key_n, track)
    return rc


cdef int walk_entity_ref(Scan* S, const uint8_t* p, const uint8_t* end, int depth) noexcept nogil:
    """An EntityRef: schema_url = 1, type = 2, id_keys = 3, description_keys = 4, all strings."""
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if (tag & 7) == WT_LEN and 1 <= (tag >> 3) <= 4:
                rc = rd_string(&p, end, &q, &n)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_resource(Scan* S, const uint8_t* p, const uint8_t* end, int depth) noexcept nogil:
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef const uint8_t* key
    cdef size_t key_n
    cdef uint32_t tag
    cdef uint64_t v
    cdef int rc
    cdef ValTrack track
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_LEN):
                rc = walk_attribute(S, &p, end, depth, &key, &key_n, &track)
            elif tag == (2 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
            elif tag == (3 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_entity_ref(S, q, q + n, depth + 1)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_scope(Scan* S, const uint8_t* p, const uint8_t* end, int depth, Entry* entry) noexcept nogil:
    """An InstrumentationScope; its (last) name goes to `entry` (several scope fields merge: the last name wins)."""
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef const uint8_t* key
    cdef size_t key_n
    cdef uint32_t tag
    cdef uint64_t v
    cdef int rc
    cdef ValTrack track
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
                entry.name = q
                entry.name_n = n
            elif tag == (2 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
            elif tag == (3 << 3 | WT_LEN):
                rc = walk_attribute(S, &p, end, depth, &key, &key_n, &track)
            elif tag == (4 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_event(Scan* S, const uint8_t* p, const uint8_t* end, int depth, const uint8_t** name,
                    size_t* name_n) noexcept nogil:
    cdef const uint8_t* field
    cdef const uint8_t* key
    cdef size_t key_n
    cdef uint32_t tag
    cdef uint64_t v
    cdef int rc
    cdef ValTrack track
    name[0] = p
    name_n[0] = 0
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_I64):
                rc = rd_fixed64(&p, end, &v)
            elif tag == (2 << 3 | WT_LEN):
                rc = rd_string(&p, end, name, name_n)
            elif tag == (3 << 3 | WT_LEN):
                rc = walk_attribute(S, &p, end, depth, &key, &key_n, &track)
            elif tag == (4 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_link(Scan* S, const uint8_t* p, const uint8_t* end, int depth) noexcept nogil:
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef const uint8_t* key
    cdef size_t key_n
    cdef uint32_t tag
    cdef uint64_t v
    cdef int rc
    cdef ValTrack track
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_LEN) or tag == (2 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
            elif tag == (3 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
            elif tag == (4 << 3 | WT_LEN):
                rc = walk_attribute(S, &p, end, depth, &key, &key_n, &track)
            elif tag == (5 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
            elif tag == (6 << 3 | WT_I32):
                rc = E_TRUNCATED if end - p < 4 else 0
                p += 4 if rc == 0 else 0
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_status(Scan* S, const uint8_t* p, const uint8_t* end, int depth, SpanRow* row) noexcept nogil:
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef uint64_t v
    cdef int rc
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (2 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
            elif tag == (3 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
                row.status = <int32_t><uint32_t>v
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef inline bint all_zero(const uint8_t* p, size_t n) noexcept nogil:
    cdef size_t i
    for i in range(n):
        if p[i]:
            return False
    return True


cdef int walk_span(Scan* S, const uint8_t* p, const uint8_t* end, int depth, SpanRow* row) noexcept nogil:
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef const uint8_t* key
    cdef size_t key_n
    cdef uint32_t tag
    cdef uint64_t v
    cdef int rc
    cdef ValTrack track
    cdef const Rules* rules = S.rules
    cdef int m
    cdef bint check_keys = rules.key_prefixes.count > 0 or rules.keys.count > 0
    cdef bint check_events = rules.event_names.count > 0
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_LEN):
                rc = rd_len(&p, end, &row.trace_id, &n)
                row.trace_id_n = <uint32_t>n
            elif tag == (2 << 3 | WT_LEN):
                rc = rd_len(&p, end, &row.span_id, &n)
                row.span_id_n = <uint32_t>n
            elif tag == (3 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
            elif tag == (4 << 3 | WT_LEN):
                rc = rd_len(&p, end, &row.parent, &n)
                row.parent_n = <uint32_t>n
            elif tag == (5 << 3 | WT_LEN):
                rc = rd_string(&p, end, &row.name, &n)
                row.name_n = <uint32_t>n
            elif tag == (6 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
                row.kind = <int32_t><uint32_t>v
            elif tag == (7 << 3 | WT_I64):
                rc = rd_fixed64(&p, end, &row.t0)
            elif tag == (8 << 3 | WT_I64):
                rc = rd_fixed64(&p, end, &row.t1)
            elif tag == (9 << 3 | WT_LEN):
                rc = walk_attribute(S, &p, end, depth, &key, &key_n, &track)
                if rc == 0 and check_keys and key_claimed(rules, key, key_n):
                    row.claim |= C_CLAIM_KEY
                    for m in range(S.member_count):
                        if key_claimed(S.members[m], key, key_n):
                            row.member_claim[m] |= C_CLAIM_KEY
            elif tag == (11 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_event(S, q, q + n, depth + 1, &key, &key_n)
                row.events += 1
                if rc == 0 and check_events and list_index(&rules.event_names, key, key_n) >= 0:
                    row.claim |= C_CLAIM_EVENT
                    for m in range(S.member_count):
                        if list_index(&S.members[m].event_names, key, key_n) >= 0:
                            row.member_claim[m] |= C_CLAIM_EVENT
            elif tag == (13 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_link(S, q, q + n, depth + 1)
            elif tag == (15 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_status(S, q, q + n, depth + 1, row)
            elif tag == (10 << 3 | WT_VARINT) or tag == (12 << 3 | WT_VARINT) or tag == (14 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
            elif tag == (16 << 3 | WT_I32):
                rc = E_TRUNCATED if end - p < 4 else 0
                p += 4 if rc == 0 else 0
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    if (rules.http_client and row.kind == SPAN_KIND_CLIENT and row.parent_n
            and http_attempt_name(rules, row.name, row.name_n)):
        row.claim |= C_CLAIM_HTTP_CLIENT
        for m in range(S.member_count):
            if S.members[m].http_client:
                row.member_claim[m] |= C_CLAIM_HTTP_CLIENT
    return 0


cdef int walk_scope_spans(Scan* S, const uint8_t* p, const uint8_t* end, int depth, uint32_t resource) noexcept nogil:
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    cdef SpanRow* row
    cdef Entry* entry = <Entry*>grow_push(&S.scopes)
    cdef size_t scope = S.scopes.count - 1
    cdef size_t first_row = S.rows.count
    cdef size_t i
    cdef int m
    if entry == NULL:
        return E_NOMEM
    entry.start = p - S.base
    entry.end = end - S.base
    entry.resource = resource
    entry.name = p
    entry.name_n = 0
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (2 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth)
                if rc == 0:
                    row = <SpanRow*>grow_push(&S.rows)
                    if row == NULL:
                        return E_NOMEM
                    memset(row, 0, sizeof(SpanRow))
                    row.start = q - S.base
                    row.end = q + n - S.base
                    row.resource = resource
                    row.scope = <uint32_t>scope
                    rc = walk_span(S, q, q + n, depth + 1, row)
            elif tag == (1 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    entry = (<Entry*>S.scopes.data) + scope  # rows may not move it, but be exact
                    rc = enter(depth) or walk_scope(S, q, q + n, depth + 1, entry)
            elif tag == (3 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    entry = (<Entry*>S.scopes.data) + scope
    if S.rules.scope_names.count or S.rules.scope_prefixes.count:
        if scope_claimed(S.rules, entry.name, entry.name_n):
            for i in range(first_row, S.rows.count):
                (<SpanRow*>S.rows.data)[i].claim |= C_CLAIM_SCOPE
            for m in range(S.member_count):
                if scope_claimed(S.members[m], entry.name, entry.name_n):
                    for i in range(first_row, S.rows.count):
                        (<SpanRow*>S.rows.data)[i].member_claim[m] |= C_CLAIM_SCOPE
    return 0


cdef int walk_resource_entry(Scan* S, const uint8_t* p, const uint8_t* end, int depth, bint logs) noexcept nogil:
    """A ResourceSpans / ResourceLogs: resource = 1, scope_spans / scope_logs = 2, schema_url = 3."""
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    cdef Entry* entry = <Entry*>grow_push(&S.resources)
    cdef uint32_t resource = <uint32_t>(S.resources.count - 1)
    if entry == NULL:
        return E_NOMEM
    entry.start = p - S.base
    entry.end = end - S.base
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (2 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth)
                if rc == 0:
                    if logs:
                        rc = walk_scope_logs(S, q, q + n, depth + 1, resource)
                    else:
                        rc = walk_scope_spans(S, q, q + n, depth + 1, resource)
            elif tag == (1 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_resource(S, q, q + n, depth + 1)
            elif tag == (3 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_request(Scan* S, const uint8_t* p, const uint8_t* end, bint logs) noexcept nogil:
    """ExportTraceServiceRequest / ExportLogsServiceRequest: resource_spans / resource_logs = 1."""
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = walk_resource_entry(S, q, q + n, 1, logs)
            else:
                rc = skip_field(&p, end, tag, 0)
        if rc:
            return fail(S, field, rc)
    return 0


cdef int walk_log(Scan* S, const uint8_t* p, const uint8_t* end, int depth, LogRow* row) noexcept nogil:
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef const uint8_t* key
    cdef size_t key_n
    cdef const uint8_t* event_name = p
    cdef size_t event_name_n = 0
    cdef uint32_t tag
    cdef uint64_t v
    cdef int rc
    cdef ValTrack track
    cdef ValTrack body
    cdef ValTrack event_attribute
    cdef bint event_attribute_seen = False
    cdef const Rules* rules = S.rules
    event_attribute.kind = V_NONE
    event_attribute.text_n = 0
    body.kind = V_NONE
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_I64):
                rc = rd_fixed64(&p, end, &row.time)
            elif tag == (11 << 3 | WT_I64):
                rc = rd_fixed64(&p, end, &row.observed)
            elif tag == (2 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
                row.severity = <int32_t><uint32_t>v
            elif tag == (3 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
            elif tag == (5 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_anyvalue(S, q, q + n, depth + 1, &body)
            elif tag == (6 << 3 | WT_LEN):
                rc = walk_attribute(S, &p, end, depth, &key, &key_n, &track)
                if rc == 0 and not event_attribute_seen and str_is(key, key_n, "event.name", 10):
                    event_attribute = track  # the first one wins, as in an attribute map
                    event_attribute_seen = True
            elif tag == (7 << 3 | WT_VARINT):
                rc = rd_varint(&p, end, &v)
            elif tag == (8 << 3 | WT_I32):
                rc = E_TRUNCATED if end - p < 4 else 0
                p += 4 if rc == 0 else 0
            elif tag == (9 << 3 | WT_LEN):
                rc = rd_len(&p, end, &row.trace_id, &n)
                row.trace_id_n = <uint32_t>n
            elif tag == (10 << 3 | WT_LEN):
                rc = rd_len(&p, end, &row.span_id, &n)
                row.span_id_n = <uint32_t>n
            elif tag == (12 << 3 | WT_LEN):
                rc = rd_string(&p, end, &event_name, &event_name_n)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    if event_name_n == 0 and event_attribute.kind == V_STRING:
        event_name = event_attribute.text
        event_name_n = event_attribute.text_n
    if (rules.log_event_prefixes.count or rules.log_event_names.count) and log_claimed(rules, event_name,
                                                                                       event_name_n):
        row.claim |= C_CLAIM_LOG_EVENT
    return 0


cdef int walk_scope_logs(Scan* S, const uint8_t* p, const uint8_t* end, int depth, uint32_t resource) noexcept nogil:
    cdef const uint8_t* field
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    cdef LogRow* row
    cdef Entry* entry = <Entry*>grow_push(&S.scopes)
    cdef size_t scope = S.scopes.count - 1
    if entry == NULL:
        return E_NOMEM
    entry.start = p - S.base
    entry.end = end - S.base
    entry.resource = resource
    entry.name = p
    entry.name_n = 0
    while p < end:
        field = p
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (2 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth)
                if rc == 0:
                    row = <LogRow*>grow_push(&S.rows)
                    if row == NULL:
                        return E_NOMEM
                    memset(row, 0, sizeof(LogRow))
                    row.start = q - S.base
                    row.end = q + n - S.base
                    row.resource = resource
                    row.scope = <uint32_t>scope
                    rc = walk_log(S, q, q + n, depth + 1, row)
            elif tag == (1 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                if rc == 0:
                    rc = enter(depth) or walk_scope(S, q, q + n, depth + 1, (<Entry*>S.scopes.data) + scope)
            elif tag == (3 << 3 | WT_LEN):
                rc = rd_string(&p, end, &q, &n)
            else:
                rc = skip_field(&p, end, tag, depth)
        if rc:
            return fail(S, field, rc)
    return 0
