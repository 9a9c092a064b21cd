# Claims compiled to C string tables, so that the scanner decides in C which spans it reads fully.

cdef enum:
    MAX_TEXT_KEYS = 16
    MAX_MEMBERS_C = 8  # claims.MAX_MEMBERS (checked at import)
    # claims.CLAIM_* and index flag bits, as C constants (checked against the Python ones at import)
    C_CLAIM_KEY = 1
    C_CLAIM_SCOPE = 2
    C_CLAIM_HTTP_CLIENT = 4
    C_CLAIM_EVENT = 8
    C_CLAIM_LOG_EVENT = 16
    F_VALID = 1
    F_HAS_PARENT = 2
    F_HAS_TRACE_ID = 2
    F_HAS_SPAN_ID = 4

cdef struct Str:
    const uint8_t* p
    size_t n

cdef struct StrList:
    Str* items
    int count

cdef struct Rules:
    StrList key_prefixes
    StrList keys
    StrList scope_names
    StrList scope_prefixes
    bint http_client
    StrList event_names
    StrList text_event_names
    StrList text_keys
    StrList log_event_prefixes
    StrList log_event_names
    StrList http_methods


cdef inline bint str_is(const uint8_t* p, size_t n, const char* literal, size_t literal_n) noexcept nogil:
    return n == literal_n and memcmp(p, literal, n) == 0


cdef inline int list_index(const StrList* names, const uint8_t* p, size_t n) noexcept nogil:
    """Position of the exact string in `names`, or -1."""
    cdef int i
    for i in range(names.count):
        if names.items[i].n == n and memcmp(names.items[i].p, p, n) == 0:
            return i
    return -1


cdef inline bint has_prefix(const StrList* prefixes, const uint8_t* p, size_t n) noexcept nogil:
    cdef int i
    for i in range(prefixes.count):
        if prefixes.items[i].n <= n and memcmp(prefixes.items[i].p, p, prefixes.items[i].n) == 0:
            return True
    return False


cdef class _CompiledClaims:
    """The C tables of one Claims; owns the encoded strings they point into."""

    cdef Rules rules
    cdef list _keep
    cdef list _tables

    def __cinit__(self):
        self._keep = []
        self._tables = []
        memset(&self.rules, 0, sizeof(Rules))

    def __dealloc__(self):
        for address in self._tables:
            free(<void*><size_t>address)

    cdef StrList table(self, values) except *:
        cdef StrList out
        cdef Py_ssize_t i
        cdef bytes encoded
        values = [value.encode("utf-8") for value in values]
        out.count = len(values)
        out.items = <Str*>malloc(sizeof(Str) * (out.count or 1))
        if out.items == NULL:
            raise MemoryError()
        self._tables.append(<size_t>out.items)
        for i in range(out.count):
            encoded = values[i]
            self._keep.append(encoded)
            out.items[i].p = <const uint8_t*><const char*>encoded
            out.items[i].n = len(encoded)
        return out


cdef dict _compiled_cache = {}


cdef _CompiledClaims compile_claims(claims):
    cdef _CompiledClaims compiled = _compiled_cache.get(claims)
    if compiled is not None:
        return compiled
    if len(claims.text_keys) > MAX_TEXT_KEYS:
        raise ValueError(f"Claims.text_keys: at most {MAX_TEXT_KEYS} keys, got {len(claims.text_keys)}")
    compiled = _CompiledClaims()
    compiled.rules.key_prefixes = compiled.table(claims.key_prefixes)
    compiled.rules.keys = compiled.table(claims.keys)
    compiled.rules.scope_names = compiled.table(claims.scope_names)
    compiled.rules.scope_prefixes = compiled.table(claims.scope_prefixes)
    compiled.rules.http_client = bool(claims.http_client)
    compiled.rules.event_names = compiled.table(claims.event_names)
    compiled.rules.text_event_names = compiled.table(claims.text_event_names)
    compiled.rules.text_keys = compiled.table(claims.text_keys)
    compiled.rules.log_event_prefixes = compiled.table(claims.log_event_prefixes)
    compiled.rules.log_event_names = compiled.table(claims.log_event_names)
    compiled.rules.http_methods = compiled.table(HTTP_METHODS)
    if len(_compiled_cache) > 64:  # Claims are few and long-lived; a caller making new ones per call must not grow this
        _compiled_cache.clear()
    _compiled_cache[claims] = compiled
    return compiled


cdef inline bint key_claimed(const Rules* rules, const uint8_t* p, size_t n) noexcept nogil:
    return has_prefix(&rules.key_prefixes, p, n) or list_index(&rules.keys, p, n) >= 0


cdef inline bint scope_claimed(const Rules* rules, const uint8_t* p, size_t n) noexcept nogil:
    return list_index(&rules.scope_names, p, n) >= 0 or has_prefix(&rules.scope_prefixes, p, n)


cdef inline bint http_attempt_name(const Rules* rules, const uint8_t* p, size_t n) noexcept nogil:
    """The name's first word (up to the first space) is an HTTP method."""
    cdef size_t word = 0
    while word < n and p[word] != 0x20:
        word += 1
    return list_index(&rules.http_methods, p, word) >= 0


cdef inline bint log_claimed(const Rules* rules, const uint8_t* p, size_t n) noexcept nogil:
    return has_prefix(&rules.log_event_prefixes, p, n) or list_index(&rules.log_event_names, p, n) >= 0
