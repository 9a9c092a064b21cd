# drop_attributes: the redaction processor's edit. Keys are decided in C (allowed / blocked exact keys and
# prefixes); a rule with patterns asks Python once per distinct key. A span with nothing to redact costs a walk of
# its attribute keys and no Python object.

cdef class _CompiledRedact:
    cdef StrList allow_keys, allow_prefixes, block_keys, block_prefixes
    cdef object rule
    cdef dict decided       # key bytes -> bool, for pattern rules
    cdef _CompiledClaims tables

    cdef int matches(self, const uint8_t* p, size_t n) except -1:
        if list_index(&self.allow_keys, p, n) >= 0 or has_prefix(&self.allow_prefixes, p, n):
            return 0
        if list_index(&self.block_keys, p, n) >= 0 or has_prefix(&self.block_prefixes, p, n):
            return 1
        if self.decided is None:
            return 0
        key = PyBytes_FromStringAndSize(<const char*>p, <Py_ssize_t>n)
        found = self.decided.get(key)
        if found is None:
            if len(self.decided) >= 4096:  # indexed keys are unbounded: start over rather than grow
                self.decided.clear()
            found = self.decided[key] = bool(self.rule.pattern_matches(py_str(p, n)))
        return 1 if found else 0


cdef dict _redact_cache = {}


cdef _CompiledRedact compile_redact(rule):
    cdef _CompiledRedact compiled = _redact_cache.get(rule)
    if compiled is not None:
        return compiled
    compiled = _CompiledRedact()
    compiled.rule = rule
    compiled.tables = _CompiledClaims()
    compiled.allow_keys = compiled.tables.table(rule.allow_keys)
    compiled.allow_prefixes = compiled.tables.table(rule.allow_prefixes)
    compiled.block_keys = compiled.tables.table(rule.block_keys)
    compiled.block_prefixes = compiled.tables.table(rule.block_prefixes)
    compiled.decided = {} if rule.block_patterns else None
    if len(_redact_cache) > 64:
        _redact_cache.clear()
    _redact_cache[rule] = compiled
    return compiled


cdef class _Redaction:
    """One drop_attributes call: the edits, and the keys found on the item being walked."""

    cdef _CompiledRedact compiled
    cdef object rule
    cdef const uint8_t* base
    cdef _Edits edits
    cdef list found         # the keys found on the item, kept only for its summary
    cdef Py_ssize_t found_n
    cdef Py_ssize_t total
    cdef bint summary
    cdef bint drop          # no digest: a redacted attribute is removed

    cdef int attributes(self, const uint8_t* p, const uint8_t* end, uint32_t field_tag, list summary_fields) except -1:
        """Redacts the KeyValue fields `field_tag` of the message [p, end); summary keys seen go to
        `summary_fields` (when not None)."""
        cdef const uint8_t* msg = p
        cdef const uint8_t* q
        cdef size_t n
        cdef const uint8_t* key
        cdef size_t key_n
        cdef uint32_t tag
        cdef int rc
        while p < end:
            rc = rd_tag(&p, end, &tag)
            if rc:
                broken(rc)
            if tag != field_tag:
                check(skip_field(&p, end, tag, 1))
                continue
            check(rd_len(&p, end, &q, &n))
            check(kv_key(q, q + n, &key, &key_n))
            if summary_fields is not None and (str_is(key, key_n, b"redaction.redacted.keys", 23)
                                               or str_is(key, key_n, b"redaction.redacted.count", 24)):
                summary_fields.append(q - self.base)
            if not self.compiled.matches(key, key_n):
                continue
            self.found_n += 1
            if self.summary:  # else only counted: a chunk event's key costs no str
                self.found.append(py_str(key, key_n))
            if self.drop:
                self.edits.add(msg - self.base, q - self.base, OP_DELETE, None)
            else:
                digest = self.rule.digest(value_bytes(q, q + n))
                replacement = encode_kv(py_str(key, key_n), len_field(1 << 3 | WT_LEN, digest.encode("utf-8")))
                self.edits.add(msg - self.base, q - self.base, OP_REPLACE, len_field(field_tag, replacement))
        return 0

    cdef int close_item(self, uint64_t item, uint32_t field_tag, list summary_fields) except -1:
        """Counts the item's finds, and writes its summary."""
        if not self.found_n:
            return 0
        self.total += self.found_n
        self.found_n = 0
        if self.summary:
            for field in summary_fields:
                self.edits.add(item, field, OP_DELETE, None)
            keys = len_field(1 << 3 | WT_LEN, ",".join(sorted(set(self.found))).encode("utf-8"))
            count = b"\x18" + varint_bytes(len(self.found))
            self.edits.add(item, APPEND_AT, OP_APPEND,
                           len_field(field_tag, encode_kv(SUMMARY_KEYS, keys))
                           + len_field(field_tag, encode_kv(SUMMARY_COUNT, count)))
            self.found = []
        return 0


cdef bytes value_bytes(const uint8_t* p, const uint8_t* end):
    """A KeyValue's value fields' payloads, concatenated: one AnyValue encoding (protobuf merges them)."""
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    parts = []
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == (2 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            parts.append(PyBytes_FromStringAndSize(<const char*>q, <Py_ssize_t>n))
        else:
            check(skip_field(&p, end, tag, 1))
    return b"".join(parts)


cdef int redact_outer(_Redaction R, const uint8_t* p, const uint8_t* end, uint32_t attributes_tag) except -1:
    """The attributes of every Resource (field 1 of a resource entry) or InstrumentationScope (field 1 of a scope
    entry) occurrence: redacted, counted, summarised on no item."""
    cdef list found = []
    submessages(p, end, 1 << 3 | WT_LEN, found)
    for start, stop in found:
        R.attributes(<const uint8_t*><size_t>start, <const uint8_t*><size_t>stop, attributes_tag, None)
    R.total += R.found_n
    R.found_n = 0
    if R.summary:
        R.found = []
    return 0


cdef int redact_span(_Redaction R, const uint8_t* p, const uint8_t* end) except -1:
    cdef uint64_t span = p - R.base
    cdef list summary_fields = [] if R.summary else None
    cdef const uint8_t* field = p
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    R.attributes(p, end, 9 << 3 | WT_LEN, summary_fields)
    while field < end:  # events and links, read in place: a streamed span has hundreds of events
        rc = rd_tag(&field, end, &tag)
        if rc:
            broken(rc)
        if tag == (11 << 3 | WT_LEN) or tag == (13 << 3 | WT_LEN):
            check(rd_len(&field, end, &q, &n))
            R.attributes(q, q + n, (3 if tag == (11 << 3 | WT_LEN) else 4) << 3 | WT_LEN, None)
        else:
            check(skip_field(&field, end, tag, 0))
    R.close_item(span, 9 << 3 | WT_LEN, summary_fields)
    return 0


cdef bint genai_event(const uint8_t* p, const uint8_t* end, str prefix) except -1:
    """Whether the log record's event name (the event_name field, else a string `event.name` attribute, the last
    one) starts with `prefix`."""
    cdef const uint8_t* q
    cdef size_t n
    cdef const uint8_t* key
    cdef size_t key_n
    cdef const uint8_t* name = p
    cdef size_t name_n = 0
    cdef uint32_t tag
    cdef int rc
    cdef ValTrack track
    cdef ValTrack attribute
    cdef Scan scratch
    scratch.err_at = NULL
    attribute.kind = V_NONE
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == (12 << 3 | WT_LEN):
            check(rd_len(&p, end, &name, &name_n))
        elif tag == (6 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            track.kind = V_NONE
            check(walk_kv(&scratch, q, q + n, 1, &key, &key_n, &track))
            if str_is(key, key_n, "event.name", 10):
                attribute = track
        else:
            check(skip_field(&p, end, tag, 1))
    if name_n == 0 and attribute.kind == V_STRING:
        name = attribute.text
        name_n = attribute.text_n
    return py_str(name, name_n).startswith(prefix)


cdef int redact_log(_Redaction R, const uint8_t* p, const uint8_t* end) except -1:
    cdef uint64_t record = p - R.base
    cdef list summary_fields = [] if R.summary else None
    cdef list bodies = []
    rule = R.rule
    if rule.body_fields:
        submessages(p, end, 5 << 3 | WT_LEN, bodies)
    genai = bool(bodies) and genai_event(p, end, rule.body_event_prefix)
    R.attributes(p, end, 6 << 3 | WT_LEN, summary_fields)
    if genai:
        encoded = b"".join([PyBytes_FromStringAndSize(<const char*><size_t>start, <Py_ssize_t>(stop - start))
                            for start, stop in bodies])
        found = []
        body = _redact_body(_AnyValue.FromString(encoded), rule, found)
        if found:
            R.found_n += len(found)
            if R.summary:
                R.found.extend(found)
            for start, _ in bodies:
                R.edits.add(record, <size_t>start - <size_t>R.base, OP_DELETE, None)
            if body is not None:
                R.edits.add(record, APPEND_AT, OP_APPEND, len_field(5 << 3 | WT_LEN, body.SerializeToString()))
    R.close_item(record, 6 << 3 | WT_LEN, summary_fields)
    return 0


def drop_attributes(index, rule):
    """Redacts by `rule` (a RedactRule) every attribute list of the request, and gen_ai log bodies."""
    cdef Cols C
    cdef _Redaction R = _Redaction()
    cdef Py_ssize_t i
    cdef bint logs = isinstance(index, LogIndex)
    load_cols(index, &C)
    R.compiled = compile_redact(rule)
    R.rule = rule
    R.base = C.base
    R.edits = _Edits()
    R.found = []
    R.found_n = 0
    R.total = 0
    R.summary = bool(rule.summary)
    R.drop = rule.digest is None
    for i in range(C.resources):
        redact_outer(R, C.base + C.resource_start[i], C.base + C.resource_end[i], 1 << 3 | WT_LEN)
    for i in range(C.scopes):
        redact_outer(R, C.base + C.scope_start[i], C.base + C.scope_end[i], 3 << 3 | WT_LEN)
    for i in range(C.n):
        if logs:
            redact_log(R, C.base + C.item_start[i], C.base + C.item_end[i])
        else:
            redact_span(R, C.base + C.item_start[i], C.base + C.item_end[i])
    if R.total == 0:
        return Redacted(index.buf, 0)
    return Redacted(apply_edits(index.buf, R.edits), R.total)
