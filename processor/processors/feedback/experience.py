"""The user's experience of a stream, from its record: one class per stream, the worst that applies."""

from __future__ import annotations

import math

from processor.model.records import StreamRecord


def experience_of(record: StreamRecord, *, slow_ttft: float | None, had_slow_anomaly: bool) -> str:
    has = record.HasField
    outcome = record.outcome if has("outcome") else ""
    if outcome in ("aborted", "error"):
        return "aborted"
    if outcome == "truncated":
        return "truncated"
    if has("stalled") and record.stalled:
        return "stalled"
    if had_slow_anomaly:
        return "slow_first_token"
    if slow_ttft is not None and has("ttft_s") and not math.isnan(record.ttft_s) and record.ttft_s > slow_ttft:
        return "slow_first_token"
    return "normal"
