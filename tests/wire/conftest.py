"""Both backends, explicitly: every wire test runs on the compiled core and on the reference."""

from __future__ import annotations

import math
import os
import struct
from typing import Any

import pytest

from processor import wire

NATIVE = wire.native_backend()
REFERENCE = wire.reference_backend()
#: Skip the compiled backend only when it is not built (make test insists that it is).
needs_native = pytest.mark.skipif(NATIVE is None, reason=f"the compiled wire core is not built: {wire.WHY}")

#: Hypothesis examples per property (make sanitize runs many more under AddressSanitizer).
EXAMPLES = int(os.environ.get("TOKENSTREAM_WIRE_EXAMPLES", "150"))

BACKENDS = [pytest.param(NATIVE, id="native", marks=needs_native), pytest.param(REFERENCE, id="reference")]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def plain(value: Any) -> Any:
    """A value made comparable: floats by their bits (NaN equals NaN), containers recursively, arrays as lists."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value)) if math.isnan(value) else value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if hasattr(value, "typecode"):
        return (value.typecode, list(value))
    return value


_CLAIMED_SPAN = ("rules", "name", "attributes", "status_message", "event_times", "event_positions", "event_start",
                 "event_end", "texts", "text_times")
_CLAIMED_LOG = ("rules", "event_name", "attributes", "body", "severity_text")


def contents(index: Any) -> dict[str, Any]:
    """Everything an index holds, as plain comparable values (backends must agree on all of it)."""
    out = {"ids": index.ids, "scope_names": index.scope_names}
    for name in (*index._ROW_COLUMNS, *index._ENTRY_COLUMNS, "claimed_rows"):
        column = getattr(index, name)
        out[name] = (column.typecode, list(column))
    fields = _CLAIMED_LOG if isinstance(index, wire.LogIndex) else _CLAIMED_SPAN
    out["claimed"] = [{name: plain(getattr(claimed, name)) for name in fields} for claimed in index.claimed]
    return out


def outcome(scan, data: bytes, claims) -> Any:
    """The index's contents, or the fact that the bytes were refused."""
    try:
        return contents(scan(data, claims))
    except wire.WireError:
        return "refused"
