# Pass 2: a claimed span's attributes, status message and events; a claimed log record's fields. Only claimed rows
# get here, so only they cost Python objects.

cdef struct EventRec:
    uint32_t slot
    uint64_t time
    uint32_t start
    uint32_t end

cdef enum:
    LINEAR_NAMES = 16  # distinct event names looked up by memcmp; past that, through a dict


cdef class _EventNames:
    """The distinct event names of one span, interned as they are met."""

    cdef list names
    cdef Str linear[LINEAR_NAMES]
    cdef dict more

    def __cinit__(self):
        self.names = []
        self.more = None

    cdef uint32_t slot(self, const uint8_t* p, size_t n) except 0xFFFFFFFF:
        cdef int i
        cdef Py_ssize_t count = len(self.names)
        for i in range(min(count, LINEAR_NAMES)):
            if self.linear[i].n == n and memcmp(self.linear[i].p, p, n) == 0:
                return i
        if count >= LINEAR_NAMES:
            key = PyBytes_FromStringAndSize(<const char*>p, <Py_ssize_t>n)
            found = self.more.get(key)
            if found is not None:
                return found
            self.more[key] = count
        else:
            self.linear[count].p = p
            self.linear[count].n = n
            if count + 1 == LINEAR_NAMES:
                self.more = {}
        self.names.append(py_str(p, n))
        return <uint32_t>count


cdef inline bint is_member(uint32_t tag) noexcept nogil:
    """An AnyValue oneof member other than string_value, with its own wire type (another is an unknown field)."""
    return (tag == (2 << 3 | WT_VARINT) or tag == (3 << 3 | WT_VARINT) or tag == (4 << 3 | WT_I64)
            or tag == (5 << 3 | WT_LEN) or tag == (6 << 3 | WT_LEN) or tag == (7 << 3 | WT_LEN)
            or tag == (8 << 3 | WT_VARINT))


cdef int kv_string(const uint8_t* p, const uint8_t* end, const uint8_t** key, size_t* key_n,
                   ValTrack* track) noexcept nogil:
    """A KeyValue's last key, and its value's last oneof member (a string's bytes when it is one): no checks
    beyond bounds, for bytes pass 1 has validated."""
    cdef const uint8_t* q
    cdef const uint8_t* e
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    key[0] = p
    key_n[0] = 0
    track.kind = V_NONE
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc == 0:
            if tag == (1 << 3 | WT_LEN):
                rc = rd_len(&p, end, key, key_n)
            elif tag == (2 << 3 | WT_LEN):
                rc = rd_len(&p, end, &q, &n)
                e = q + n
                while rc == 0 and q < e:
                    rc = rd_tag(&q, e, &tag)
                    if rc == 0:
                        if tag == (1 << 3 | WT_LEN):
                            rc = rd_len(&q, e, &track.text, &track.text_n)
                            track.kind = V_STRING
                        else:
                            if is_member(tag):
                                track.kind = V_BOOL  # any other member: not a string
                            rc = skip_field(&q, e, tag, 1)
            else:
                rc = skip_field(&p, end, tag, 1)
        if rc:
            return rc
    return 0


cdef object event_text(const uint8_t* p, const uint8_t* end, const Rules* rules):
    """The string under the first of `rules.text_keys` that the event has as a string (a repeated key: its first
    occurrence, as in an attribute map)."""
    cdef ValTrack best[MAX_TEXT_KEYS]
    cdef bint seen[MAX_TEXT_KEYS]
    cdef ValTrack track
    cdef const uint8_t* q
    cdef size_t n
    cdef const uint8_t* key
    cdef size_t key_n
    cdef uint32_t tag
    cdef int rc, k
    for k in range(rules.text_keys.count):
        best[k].kind = V_NONE
        seen[k] = False
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == (3 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            check(kv_string(q, q + n, &key, &key_n, &track))
            k = list_index(&rules.text_keys, key, key_n)
            if k >= 0 and not seen[k]:
                best[k] = track
                seen[k] = True
        else:
            check(skip_field(&p, end, tag, 0))
    for k in range(rules.text_keys.count):
        if best[k].kind == V_STRING:
            return py_str(best[k].text, best[k].text_n)
    return None


cdef object read_claimed_span(const uint8_t* base, uint64_t start, uint64_t stop, uint8_t claim, const Rules* rules):
    """The ClaimedSpan of the span payload [start, stop) of bytes the walk has validated."""
    cdef const uint8_t* span = base + start
    cdef const uint8_t* p = span
    cdef const uint8_t* end = base + stop
    cdef const uint8_t* name = p
    cdef size_t name_n = 0
    cdef const uint8_t* q
    cdef const uint8_t* e
    cdef const uint8_t* ev_name
    cdef size_t n, ev_name_n
    cdef uint32_t tag
    cdef uint64_t v, ev_time
    cdef int rc
    cdef dict attributes = {}
    cdef const uint8_t* message = p
    cdef size_t message_n = 0
    cdef list texts = []
    cdef _EventNames names = _EventNames()
    cdef Grow events
    cdef Grow text_times
    cdef uint64_t* text_time
    cdef EventRec* rec
    cdef bint want_text = rules.text_event_names.count > 0 and rules.text_keys.count > 0
    grow_init(&events, sizeof(EventRec))
    grow_init(&text_times, sizeof(uint64_t))
    try:
        while p < end:
            rc = rd_tag(&p, end, &tag)
            if rc:
                broken(rc)
            if tag == (9 << 3 | WT_LEN):
                check(rd_len(&p, end, &q, &n))
                kv_into(q, q + n, attributes, True)
            elif tag == (5 << 3 | WT_LEN):  # repeated: the last one, as the walk and upb read it
                check(rd_len(&p, end, &name, &name_n))
            elif tag == (11 << 3 | WT_LEN):
                check(rd_len(&p, end, &q, &n))
                e = q + n
                ev_name = q
                ev_name_n = 0
                ev_time = 0
                while q < e:
                    rc = rd_tag(&q, e, &tag)
                    if rc:
                        broken(rc)
                    if tag == (1 << 3 | WT_I64):
                        check(rd_fixed64(&q, e, &ev_time))
                    elif tag == (2 << 3 | WT_LEN):
                        check(rd_len(&q, e, &ev_name, &ev_name_n))
                    else:
                        check(skip_field(&q, e, tag, 0))
                rec = <EventRec*>grow_push(&events)
                if rec == NULL:
                    raise MemoryError()
                rec.slot = names.slot(ev_name, ev_name_n)
                rec.time = ev_time
                rec.start = <uint32_t>(e - n - span)
                rec.end = <uint32_t>(e - span)
                if want_text and list_index(&rules.text_event_names, ev_name, ev_name_n) >= 0:
                    text = event_text(e - n, e, rules)
                    if text is not None:
                        text_time = <uint64_t*>grow_push(&text_times)
                        if text_time == NULL:
                            raise MemoryError()
                        text_time[0] = ev_time
                        texts.append(text)
            elif tag == (15 << 3 | WT_LEN):
                check(rd_len(&p, end, &q, &n))
                e = q + n
                while q < e:
                    rc = rd_tag(&q, e, &tag)
                    if rc:
                        broken(rc)
                    if tag == (2 << 3 | WT_LEN):
                        check(rd_len(&q, e, &message, &message_n))
                    else:
                        check(skip_field(&q, e, tag, 0))
            else:
                check(skip_field(&p, end, tag, 0))
        times, positions, starts, ends = event_tables(&events, names.names)
        text_time_array = carray.clone(_U64, text_times.count, False)
        if text_times.count:
            memcpy(text_time_array.data.as_ulonglongs, text_times.data, sizeof(uint64_t) * text_times.count)
    finally:
        grow_free(&events)
        grow_free(&text_times)
    return ClaimedSpan(claim, py_str(name, name_n), attributes, py_str(message, message_n), times,
                       positions, starts, ends, texts, text_time_array)


cdef tuple event_tables(Grow* events, list names):
    """name -> times, name -> positions, and each event's relative range."""
    cdef Py_ssize_t count = events.count
    cdef Py_ssize_t slots = len(names)
    cdef Py_ssize_t i, s
    cdef EventRec* recs = <EventRec*>events.data
    cdef carray.array starts = carray.clone(_U32, count, False)
    cdef carray.array ends = carray.clone(_U32, count, False)
    cdef carray.array times_of, positions_of
    cdef uint32_t* filled
    cdef unsigned long long** time_rows
    cdef unsigned int** position_rows
    cdef dict times = {}
    cdef dict positions = {}
    for i in range(count):
        starts.data.as_uints[i] = recs[i].start
        ends.data.as_uints[i] = recs[i].end
    if slots == 0:
        return times, positions, starts, ends
    filled = <uint32_t*>malloc(sizeof(uint32_t) * slots)
    time_rows = <unsigned long long**>malloc(sizeof(void*) * slots)
    position_rows = <unsigned int**>malloc(sizeof(void*) * slots)
    try:
        if filled == NULL or time_rows == NULL or position_rows == NULL:
            raise MemoryError()
        memset(filled, 0, sizeof(uint32_t) * slots)
        for i in range(count):
            filled[recs[i].slot] += 1
        for s in range(slots):
            times_of = carray.clone(_U64, filled[s], False)
            positions_of = carray.clone(_U32, filled[s], False)
            times[names[s]] = times_of
            positions[names[s]] = positions_of
            time_rows[s] = times_of.data.as_ulonglongs
            position_rows[s] = positions_of.data.as_uints
            filled[s] = 0
        for i in range(count):
            s = recs[i].slot
            time_rows[s][filled[s]] = recs[i].time
            position_rows[s][filled[s]] = <uint32_t>i
            filled[s] += 1
    finally:
        free(filled)
        free(time_rows)
        free(position_rows)
    return times, positions, starts, ends


cdef object read_claimed_log(const uint8_t* base, const LogRow* row):
    cdef const uint8_t* p = base + row.start
    cdef const uint8_t* end = base + row.end
    cdef const uint8_t* q
    cdef size_t n
    cdef uint32_t tag
    cdef int rc
    cdef dict attributes = {}
    cdef _Merged body = _Merged()
    cdef const uint8_t* event_name = p
    cdef size_t event_name_n = 0
    cdef const uint8_t* severity = p
    cdef size_t severity_n = 0
    while p < end:
        rc = rd_tag(&p, end, &tag)
        if rc:
            broken(rc)
        if tag == (6 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            kv_into(q, q + n, attributes, True)
        elif tag == (5 << 3 | WT_LEN):
            check(rd_len(&p, end, &q, &n))
            merge_any(q, q + n, body)
        elif tag == (12 << 3 | WT_LEN):
            check(rd_len(&p, end, &event_name, &event_name_n))
        elif tag == (3 << 3 | WT_LEN):
            check(rd_len(&p, end, &severity, &severity_n))
        else:
            check(skip_field(&p, end, tag, 0))
    name = py_str(event_name, event_name_n)
    if not name:
        named = attributes.get("event.name")
        name = named if type(named) is str else ""
    return ClaimedLog(row.claim, name, attributes, body.result(), py_str(severity, severity_n))
