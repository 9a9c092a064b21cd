"""Dropping items whose ids are malformed, so that the rest of a request can go on (OTLP partial success)."""

from __future__ import annotations

from typing import Any

from processor import wire
from processor.model.batch import Batch, Signal

_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


_SPAN_RULE = "trace_id must be 16 bytes and span_id 8 bytes, neither all zero; parent_span_id empty or 8 bytes"


def drop_invalid(batch: Batch) -> tuple[int, str]:
    """Remove invalid spans or log records from the batch; returns (how many, why). Spans held as bytes are
    judged by the wire core's index (its VALID flag is this module's rule) and dropped by its writer."""
    signal = batch.signal
    if signal is Signal.TRACES:
        if not batch.decoded:
            index = batch.index()
            bad = index.invalid_rows()
            if bad:
                batch.replace_data(wire.drop_spans(index, bad))
            dropped = len(bad)
        else:
            request = batch.request
            dropped = sum(_drop(ss.spans, _span_ok) for rs in request.resource_spans for ss in rs.scope_spans)
        return dropped, f"dropped {dropped} span(s) with invalid ids: {_SPAN_RULE}" if dropped else ""
    if signal is Signal.LOGS:
        request = batch.request
        dropped = sum(_drop(sl.log_records, _log_ok) for rl in request.resource_logs for sl in rl.scope_logs)
        why = "trace_id must be empty or 16 bytes, span_id empty or 8 bytes"
        return dropped, f"dropped {dropped} log record(s) with invalid ids: {why}" if dropped else ""
    return 0, ""


def _span_ok(span: Any) -> bool:
    trace_id, span_id = span.trace_id, span.span_id
    return (len(trace_id) == 16 and trace_id != _ZERO_TRACE and len(span_id) == 8 and span_id != _ZERO_SPAN
            and len(span.parent_span_id) in (0, 8))


def _log_ok(record: Any) -> bool:
    return len(record.trace_id) in (0, 16) and len(record.span_id) in (0, 8)


def _drop(items: Any, ok) -> int:
    """Delete the items that are not ok, back to front so that indexes stay valid; the common case only reads."""
    bad = [index for index, item in enumerate(items) if not ok(item)]
    for index in reversed(bad):
        del items[index]
    return len(bad)
