"""The wire core: each OTLP request's bytes read once, in compiled code, into an index; writers that edit the bytes
without decoding them. Everything imports from here, never from a backend.

Backends
    `IMPLEMENTATION` is "native" (the Cython extension `_core`, built by `pip install` with the machine's C
    compiler) or "reference" (`reference.py`: upb decode + Python; the tests' oracle). The reference runs when the
    extension was not built, or when `TOKENSTREAM_PURE_PYTHON=1`. `WHY` is one line saying which runs and why, for
    the service to log as a warning when the reference runs. Both return the same types (index.py) with the same
    contents; `native_backend()` / `reference_backend()` give each backend explicitly (tests run both).

Scanning
    `scan_traces(buf, claims=NO_CLAIMS) -> TraceIndex` and `scan_logs(buf, claims) -> LogIndex` read an encoded
    ExportTraceServiceRequest / ExportLogsServiceRequest in one pass. They accept what upb accepts (unknown fields
    of any wire type, fields in any order, repeated singular fields: the last wins and messages merge, as protobuf
    does) and raise `WireError` (a ValueError; its text fits a 400 / INVALID_ARGUMENT) for what upb refuses.
    For every span: its payload range, resource and scope rows, ids, kind, times, status code, `VALID` (partial
    success), event count: columns of `array.array`, no Python object per span. Spans matching `Claims`
    (claims.py: attribute key prefixes / keys, scope names, HTTP client attempts, event names) are also read into a
    `ClaimedSpan` (attributes as Python values, status message, event times by name, chunk text; on first use of
    `index.claimed`, so the walk itself makes no Python object); log records
    whose event name matches into a `ClaimedLog`. Resource attributes and event attributes are decoded on demand
    (`index.resource_attributes(r)`, `index.event_attributes(row, j)`). `TraceIndex.concat(indexes)` is the index
    of the concatenated bytes (a protobuf merge), without scanning again. `scan_traces(buf, ClaimsSet(members))`
    scans once with the members' union and keeps each member's claim bits per claimed row: `index.for_claims(m)`
    is then the index a scan with member m alone gives, without scanning again (claims.py, `Batch.index`).

Writers (native output decodes to exactly what the reference's upb edit gives)
    `by_trace(index) -> list[TracePart]`: one ExportTraceServiceRequest per trace id (first-appearance order), each
    span under copies of its own resource and scope entries; spans whose ids are not VALID left out; a request that
    is one trace, all valid, is returned as it came. `select_spans(index, rows) -> bytes`: the same for any rows.
    `split(index, rows, limit) -> list[(bytes, span count)]`: those rows in requests of at most `limit` bytes,
    cut by resource, then scope, then span; a piece over the limit is a single span (the caller reports it).
    `drop_spans(index, rows)` / `drop_logs(index, rows) -> bytes`: the request without those items (partial
    success). `add_attributes(index, {row: {key: value}}) -> bytes`: attributes appended to spans, except keys a
    span already has (the stream enrichment's rule and value mapping, processor/stream/enrich.py).
    `drop_attributes(index, RedactRule) -> Redacted(data, count)`: the redaction processor's edit (redact.py).
    A writer returns new bytes; an index describes only the bytes it was scanned from, so scan the result again
    when it is to be read (`NO_CLAIMS` costs only the C walk).
"""

from __future__ import annotations

import os
from types import ModuleType

from processor.wire import reference as _reference
from processor.wire.claims import (
    CLAIM_EVENT,
    CLAIM_HTTP_CLIENT,
    CLAIM_KEY,
    CLAIM_LOG_EVENT,
    CLAIM_SCOPE,
    NO_CLAIMS,
    Claims,
    ClaimsSet,
)
from processor.wire.index import (
    HAS_PARENT,
    HAS_SPAN_ID,
    HAS_TRACE_ID,
    VALID,
    ClaimedLog,
    ClaimedSpan,
    LogIndex,
    TraceIndex,
    TracePart,
    WireError,
)
from processor.wire.redact import SUMMARY_COUNT, SUMMARY_KEYS, Redacted, RedactRule
from processor.wire.split import split_rows

try:
    from processor.wire import _core as _native
except ImportError as exc:  # not built: no C compiler at install, or an import-time mismatch
    _native = None
    _NATIVE_MISSING = f"the compiled wire core is not built ({exc}); install gcc and the Python headers, then " \
                      "reinstall (pip install -e .)"
else:
    _NATIVE_MISSING = ""


def native_backend() -> ModuleType | None:
    """The compiled backend module, or None when it is not built (tests run both backends explicitly)."""
    return _native


def reference_backend() -> ModuleType:
    return _reference


def _choose() -> tuple[ModuleType, str, str]:
    if os.environ.get("TOKENSTREAM_PURE_PYTHON") == "1":
        return _reference, "reference", "wire core: the pure-Python reference runs (TOKENSTREAM_PURE_PYTHON=1)"
    if _native is None:
        return _reference, "reference", f"wire core: the pure-Python reference runs: {_NATIVE_MISSING}"
    return _native, "native", "wire core: compiled (Cython)"


_backend, IMPLEMENTATION, WHY = _choose()

scan_traces = _backend.scan_traces
scan_logs = _backend.scan_logs
by_trace = _backend.by_trace
select_spans = _backend.select_spans
drop_spans = _backend.drop_spans
drop_logs = _backend.drop_logs
add_attributes = _backend.add_attributes
drop_attributes = _backend.drop_attributes


def split(index: TraceIndex, rows, limit: int) -> list[tuple[bytes, int]]:
    """`rows` of `index` as requests of at most `limit` bytes each (one over it holds a single span)."""
    return split_rows(index, rows, limit)


__all__ = [
    "CLAIM_EVENT", "CLAIM_HTTP_CLIENT", "CLAIM_KEY", "CLAIM_LOG_EVENT", "CLAIM_SCOPE", "HAS_PARENT", "HAS_SPAN_ID",
    "HAS_TRACE_ID", "IMPLEMENTATION", "NO_CLAIMS", "SUMMARY_COUNT", "SUMMARY_KEYS", "VALID", "WHY", "ClaimedLog",
    "ClaimedSpan", "Claims", "ClaimsSet", "LogIndex", "Redacted", "RedactRule", "TraceIndex", "TracePart", "WireError",
    "add_attributes", "by_trace", "drop_attributes", "drop_logs", "drop_spans", "native_backend", "reference_backend",
    "scan_logs", "scan_traces", "select_spans", "split",
]
