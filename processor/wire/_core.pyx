# cython: language_level=3
"""The compiled wire core: scanner and writers over OTLP request bytes. Import it through `processor.wire`.

Reads network bytes, so: every varint, length and offset is checked against the buffer before it is read (no
`boundscheck(False)`: C pointers with explicit end checks), nesting is bounded at 100 as protobuf's, and a bad
request raises WireError, never reads past the buffer. Fuzzed by fuzz/ (`make fuzz`).
"""

from cpython cimport array as carray
import array

from processor.wire.claims import (CLAIM_EVENT, CLAIM_HTTP_CLIENT, CLAIM_KEY, CLAIM_LOG_EVENT, CLAIM_SCOPE,
                                   HTTP_METHODS, MAX_MEMBERS, NO_CLAIMS, ClaimsSet)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue as _AnyValue

from processor.wire.redact import SUMMARY_COUNT, SUMMARY_KEYS, Redacted
from processor.wire.reference_writers import redact_body as _redact_body
from processor.wire.index import (HAS_PARENT, HAS_SPAN_ID, HAS_TRACE_ID, VALID, ClaimedLog, ClaimedSpan, LogIndex,
                                  TraceIndex, TracePart, WireError)

include "_wire.pxi"
include "_rules.pxi"
include "_walk.pxi"
include "_values.pxi"
include "_claimed.pxi"
include "_writers.pxi"
include "_hash.pxi"

cdef carray.array _U64 = array.array("Q")
cdef carray.array _U32 = array.array("I")
cdef carray.array _I32 = array.array("i")
cdef carray.array _U8 = array.array("B")

_TRACES = "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
_LOGS = "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest"

import sys as _sys
_codec = _sys.modules[__name__]

if (C_CLAIM_KEY, C_CLAIM_SCOPE, C_CLAIM_HTTP_CLIENT, C_CLAIM_EVENT, C_CLAIM_LOG_EVENT) != (
        CLAIM_KEY, CLAIM_SCOPE, CLAIM_HTTP_CLIENT, CLAIM_EVENT, CLAIM_LOG_EVENT) or (
        F_VALID, F_HAS_PARENT, F_HAS_TRACE_ID, F_HAS_SPAN_ID) != (VALID, HAS_PARENT, HAS_TRACE_ID, HAS_SPAN_ID) or (
        MAX_MEMBERS_C != MAX_MEMBERS):
    raise ImportError("processor.wire._core was built from another version of claims.py / index.py: reinstall")


cdef bytes as_bytes(buf):
    if type(buf) is bytes:
        return buf
    return bytes(buf)


cdef void scan_init(Scan* S, const uint8_t* base, const Rules* rules, size_t row_size) noexcept nogil:
    S.base = base
    S.rules = rules
    S.member_count = 0
    S.err_at = NULL
    grow_init(&S.rows, row_size)
    grow_init(&S.resources, sizeof(Entry))
    grow_init(&S.scopes, sizeof(Entry))


cdef void scan_free(Scan* S) noexcept nogil:
    grow_free(&S.rows)
    grow_free(&S.resources)
    grow_free(&S.scopes)


cdef int raise_scan(Scan* S, int rc, str message_type) except -1:
    if rc == E_NOMEM:
        raise MemoryError()
    where = f" at byte {S.err_at - S.base}" if S.err_at != NULL else ""
    raise WireError(f"Error parsing message with type '{message_type}': {error_text(rc).decode()}{where}")


cdef dict entry_columns(Scan* S, str prefix):
    """resource_start / resource_end and scope_start / scope_end / scope_resource, and the scope names."""
    cdef Py_ssize_t i
    cdef Entry* resources = <Entry*>S.resources.data
    cdef Entry* scopes = <Entry*>S.scopes.data
    cdef carray.array rs = carray.clone(_U64, S.resources.count, False)
    cdef carray.array re = carray.clone(_U64, S.resources.count, False)
    cdef carray.array ss = carray.clone(_U64, S.scopes.count, False)
    cdef carray.array se = carray.clone(_U64, S.scopes.count, False)
    cdef carray.array sr = carray.clone(_U32, S.scopes.count, False)
    cdef list names = []
    for i in range(<Py_ssize_t>S.resources.count):
        rs.data.as_ulonglongs[i] = resources[i].start
        re.data.as_ulonglongs[i] = resources[i].end
    for i in range(<Py_ssize_t>S.scopes.count):
        ss.data.as_ulonglongs[i] = scopes[i].start
        se.data.as_ulonglongs[i] = scopes[i].end
        sr.data.as_uints[i] = scopes[i].resource
        names.append(py_str(scopes[i].name, scopes[i].name_n))
    return {"resource_start": rs, "resource_end": re, "scope_start": ss, "scope_end": se, "scope_resource": sr,
            "scope_names": names}


cdef inline void put_id(char* out, const uint8_t* p, uint32_t n, uint32_t width) noexcept nogil:
    if n == width:
        memcpy(out, p, width)
    else:
        memset(out, 0, width)


def scan_traces(buf, claims=NO_CLAIMS):
    """The TraceIndex of an encoded ExportTraceServiceRequest; WireError when the bytes are not one. `claims`: a
    Claims, or a ClaimsSet (scanned with its union; each member's bits kept per claimed row)."""
    cdef bytes data = as_bytes(buf)
    cdef const uint8_t* base = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef const uint8_t* stop = base + PyBytes_GET_SIZE(data)
    claims_set = claims if isinstance(claims, ClaimsSet) else None
    cdef _CompiledClaims compiled = compile_claims(claims if claims_set is None else claims_set.union)
    cdef _CompiledClaims member
    cdef list members = [] if claims_set is None else [compile_claims(c) for c in claims_set.members]
    cdef Scan S
    cdef int rc, m
    cdef Py_ssize_t i, n
    cdef SpanRow* rows
    cdef SpanRow* row
    cdef char* ids
    cdef uint8_t flags
    scan_init(&S, base, &compiled.rules, sizeof(SpanRow))
    for m in range(len(members)):
        member = members[m]
        S.members[m] = &member.rules
    S.member_count = len(members)
    try:
        with nogil:
            rc = walk_request(&S, base, stop, False)
        if rc:
            raise_scan(&S, rc, _TRACES)
        n = S.rows.count
        rows = <SpanRow*>S.rows.data
        columns = {name: carray.clone(template, n, False) for name, template in (
            ("span_start", _U64), ("span_end", _U64), ("span_resource", _U32), ("span_scope", _U32),
            ("kind", _I32), ("start_ns", _U64), ("end_ns", _U64), ("status_code", _I32), ("flags", _U8),
            ("claim", _U8), ("event_count", _U32))}
        id_bytes = PyBytes_FromStringAndSize(NULL, n * 32)
        ids = PyBytes_AS_STRING(id_bytes)
        fill_span_columns(rows, n, columns, ids)
        claimed_rows = array.array("I")
        member_claims = [array.array("B") for _ in members]
        for i in range(n):
            row = rows + i
            if row.claim:
                claimed_rows.append(i)
                for m in range(S.member_count):
                    member_claims[m].append(row.member_claim[m])
        sets = {} if claims_set is None else {"claims_set": claims_set, "member_claims": tuple(member_claims)}
        # Claimed spans are read into Python objects when first asked for (`index.claimed`), by whoever reads them:
        # the receiver's thread only walks (without the GIL), and a scan nobody reads costs only the claim checks.
        return TraceIndex(codec=_codec, buf=data, ids=id_bytes, claimed=(read_claimed, compiled),
                          claimed_rows=claimed_rows, **columns, **entry_columns(&S, "span"), **sets)
    finally:
        scan_free(&S)


def read_claimed(_CompiledClaims compiled, index):
    """The ClaimedSpan of each of `index.claimed_rows`, read with the rules it was scanned with."""
    cdef bytes data = index.buf
    cdef const uint8_t* base = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef carray.array starts = index.span_start, ends = index.span_end, claim = index.claim
    cdef carray.array rows = index.claimed_rows
    cdef Py_ssize_t i, row, size = PyBytes_GET_SIZE(data), count = len(rows), n = len(starts)
    cdef list out = []
    if len(ends) != n or len(claim) != n:
        raise ValueError("the index's columns differ in length")
    for i in range(count):
        row = rows.data.as_uints[i]
        if row >= n:
            raise ValueError("a claimed row past the index's rows")
        if starts.data.as_ulonglongs[row] > ends.data.as_ulonglongs[row] or ends.data.as_ulonglongs[row] > <uint64_t>size:
            raise WireError("span offsets past the end of the buffer: the index is not this buffer's")
        out.append(read_claimed_span(base, starts.data.as_ulonglongs[row], ends.data.as_ulonglongs[row],
                                     claim.data.as_uchars[row], &compiled.rules))
    return out


cdef void fill_span_columns(SpanRow* rows, Py_ssize_t n, dict columns, char* ids) except *:
    cdef carray.array span_start = columns["span_start"], span_end = columns["span_end"]
    cdef carray.array span_resource = columns["span_resource"], span_scope = columns["span_scope"]
    cdef carray.array kind = columns["kind"], start_ns = columns["start_ns"], end_ns = columns["end_ns"]
    cdef carray.array status_code = columns["status_code"], flags = columns["flags"], claim = columns["claim"]
    cdef carray.array event_count = columns["event_count"]
    cdef Py_ssize_t i
    cdef SpanRow* row
    cdef uint8_t f
    for i in range(n):
        row = rows + i
        span_start.data.as_ulonglongs[i] = row.start
        span_end.data.as_ulonglongs[i] = row.end
        span_resource.data.as_uints[i] = row.resource
        span_scope.data.as_uints[i] = row.scope
        kind.data.as_ints[i] = row.kind
        start_ns.data.as_ulonglongs[i] = row.t0
        end_ns.data.as_ulonglongs[i] = row.t1
        status_code.data.as_ints[i] = row.status
        claim.data.as_uchars[i] = row.claim
        event_count.data.as_uints[i] = row.events
        put_id(ids + i * 32, row.trace_id, row.trace_id_n, 16)
        put_id(ids + i * 32 + 16, row.span_id, row.span_id_n, 8)
        put_id(ids + i * 32 + 24, row.parent, row.parent_n, 8)
        f = F_HAS_PARENT if row.parent_n else 0
        if (row.trace_id_n == 16 and not all_zero(row.trace_id, 16) and row.span_id_n == 8
                and not all_zero(row.span_id, 8) and (row.parent_n == 0 or row.parent_n == 8)):
            f |= F_VALID
        flags.data.as_uchars[i] = f


def scan_logs(buf, claims=NO_CLAIMS):
    """The LogIndex of an encoded ExportLogsServiceRequest; WireError when the bytes are not one."""
    cdef bytes data = as_bytes(buf)
    cdef const uint8_t* base = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef const uint8_t* stop = base + PyBytes_GET_SIZE(data)
    cdef _CompiledClaims compiled = compile_claims(claims)
    cdef Scan S
    cdef int rc
    cdef Py_ssize_t i, n
    cdef LogRow* rows
    cdef LogRow* row
    cdef char* ids
    cdef uint8_t f
    scan_init(&S, base, &compiled.rules, sizeof(LogRow))
    try:
        with nogil:
            rc = walk_request(&S, base, stop, True)
        if rc:
            raise_scan(&S, rc, _LOGS)
        n = S.rows.count
        rows = <LogRow*>S.rows.data
        log_start = carray.clone(_U64, n, False)
        log_end = carray.clone(_U64, n, False)
        log_resource = carray.clone(_U32, n, False)
        log_scope = carray.clone(_U32, n, False)
        time_ns = carray.clone(_U64, n, False)
        observed_ns = carray.clone(_U64, n, False)
        severity = carray.clone(_I32, n, False)
        flags = carray.clone(_U8, n, False)
        claim = carray.clone(_U8, n, False)
        id_bytes = PyBytes_FromStringAndSize(NULL, n * 24)
        ids = PyBytes_AS_STRING(id_bytes)
        claimed_rows = array.array("I")
        claimed = []
        for i in range(n):
            row = rows + i
            (<carray.array>log_start).data.as_ulonglongs[i] = row.start
            (<carray.array>log_end).data.as_ulonglongs[i] = row.end
            (<carray.array>log_resource).data.as_uints[i] = row.resource
            (<carray.array>log_scope).data.as_uints[i] = row.scope
            (<carray.array>time_ns).data.as_ulonglongs[i] = row.time
            (<carray.array>observed_ns).data.as_ulonglongs[i] = row.observed
            (<carray.array>severity).data.as_ints[i] = row.severity
            (<carray.array>claim).data.as_uchars[i] = row.claim
            put_id(ids + i * 24, row.trace_id, row.trace_id_n, 16)
            put_id(ids + i * 24 + 16, row.span_id, row.span_id_n, 8)
            f = (F_HAS_TRACE_ID if row.trace_id_n else 0) | (F_HAS_SPAN_ID if row.span_id_n else 0)
            if (row.trace_id_n == 0 or row.trace_id_n == 16) and (row.span_id_n == 0 or row.span_id_n == 8):
                f |= F_VALID
            (<carray.array>flags).data.as_uchars[i] = f
            if row.claim:
                claimed_rows.append(i)
                claimed.append(read_claimed_log(base, row))
        return LogIndex(codec=_codec, buf=data, ids=id_bytes, claimed=claimed, claimed_rows=claimed_rows,
                        log_start=log_start, log_end=log_end, log_resource=log_resource, log_scope=log_scope,
                        time_ns=time_ns, observed_ns=observed_ns, severity=severity, flags=flags, claim=claim,
                        **entry_columns(&S, "log"))
    finally:
        scan_free(&S)


cdef inline const uint8_t* at(bytes data, uint64_t offset) except NULL:
    if offset > <uint64_t>PyBytes_GET_SIZE(data):
        raise WireError("offset past the end of the buffer: the index is not this buffer's")
    return <const uint8_t*>PyBytes_AS_STRING(data) + offset


def resource_attributes(buf, uint64_t start, uint64_t end):
    """Attributes of the Resource of the ResourceSpans / ResourceLogs payload [start, end) (fields merged)."""
    cdef bytes data = as_bytes(buf)
    cdef const uint8_t* p = at(data, start)
    cdef const uint8_t* e = at(data, end)
    cdef list found = []
    cdef dict out = {}
    submessages(p, e, 1 << 3 | WT_LEN, found)
    for q, qe in found:  # the merged Resource's attribute list is theirs concatenated: the first of a key wins
        for key, value in attributes_of(<const uint8_t*><size_t>q, <const uint8_t*><size_t>qe, 1 << 3 | WT_LEN).items():
            if key not in out:
                out[key] = value
    return out


def event_attributes(buf, uint64_t start, uint64_t end):
    """Attributes of the Span.Event payload [start, end)."""
    cdef bytes data = as_bytes(buf)
    return attributes_of(at(data, start), at(data, end), 3 << 3 | WT_LEN)


def shifted(column, int64_t delta):
    """`column` (an 'Q' or 'I' array) with `delta` added to every item (the same array when delta is 0)."""
    cdef carray.array source = column
    cdef carray.array out
    cdef Py_ssize_t i, n = len(source)
    if delta == 0:
        return column
    out = carray.clone(source, n, False)
    typecode = column.typecode
    if typecode == "Q":
        for i in range(n):
            out.data.as_ulonglongs[i] = source.data.as_ulonglongs[i] + <uint64_t>delta
    elif typecode == "I":
        for i in range(n):
            out.data.as_uints[i] = <uint32_t>(source.data.as_uints[i] + delta)
    else:
        raise TypeError(f"cannot shift an array of typecode {column.typecode!r}")
    return out
