"""Cadence math as pure functions: chunk ordering, TTFT, TPOT, gap percentiles and stalls.

Times are unix ns, results are seconds. An unknown value is None, never zero.

The arithmetic over each chunk time (`strictly_increasing`, `sorted_gaps`) runs compiled (processor/stream/
_cadence.pyx) when the extension was built and TOKENSTREAM_PURE_PYTHON is not 1; the functions here are its
reference (`..._reference`), and run for what it refuses (a time that is not an unsigned 64-bit int).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from processor.conventions.base import LlmCall, TtftClock
from processor.model.chunks import Stall

try:
    from processor.stream import _cadence
except ImportError:  # built without a C compiler: the reference runs
    _cadence = None
if os.environ.get("TOKENSTREAM_PURE_PYTHON") == "1":
    _cadence = None
IMPLEMENTATION = "native" if _cadence is not None else "reference"

_NS = 1e-9


@dataclass(slots=True)
class Chunks:
    """Chunk event times sorted and without duplicates, and what was wrong with them as they came."""

    times: list[int]
    duplicates: int = 0
    out_of_order: int = 0


def order_chunks(raw: list[int]) -> Chunks:
    """Sort chunk times; an event at a time already seen is a duplicate, one earlier than its predecessor is
    out of order (counted as the events appear on the span)."""
    if _cadence is not None and _cadence.strictly_increasing(raw):  # the common case, without sorting
        return Chunks(list(raw), 0, 0)
    times = sorted(set(raw))
    if len(times) == len(raw) and times == raw:  # the common case: already in order, no duplicates
        return Chunks(list(raw), 0, 0)
    out_of_order = sum(1 for before, after in zip(raw, raw[1:], strict=False) if after < before)
    return Chunks(times, len(raw) - len(times), out_of_order)


@dataclass(slots=True)
class Cadence:
    source: str | None = None  # chunk_events / first_token_only / reported
    ttft_s: float | None = None
    tpot_s: float | None = None
    duration_s: float | None = None
    tokens_per_s: float | None = None
    first_chunk: int | None = None
    last_chunk: int | None = None
    chunk_count: int | None = None
    duplicates: int | None = None
    out_of_order: int | None = None
    gap_p50_s: float | None = None
    gap_p95_s: float | None = None
    gap_max_s: float | None = None
    stalls: list[Stall] | None = None  # None: cadence between chunks unknown
    stall_threshold_s: float | None = None
    gaps: list[float] = field(default_factory=list)
    #: The chunk times, sorted and distinct.
    chunk_times: tuple[int, ...] = ()


def strictly_increasing_reference(times: list[int]) -> bool:
    """Each time later than the one before: the compiled `strictly_increasing`, which answers False as well for a
    time that is not an unsigned 64-bit int."""
    return all(a < b for a, b in zip(times, times[1:], strict=False))


def sorted_gaps(times: list[int]) -> list[float]:
    """The gaps in seconds between consecutive chunk times (sorted, distinct), smallest first."""
    if _cadence is not None:
        gaps = _cadence.sorted_gaps(times)
        if gaps is not None:
            return gaps
    return sorted_gaps_reference(times)


def sorted_gaps_reference(times: list[int]) -> list[float]:
    return sorted([(b - a) * _NS for a, b in zip(times, times[1:], strict=False)])


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) over an ascending, non-empty list."""
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def _stalls(times: list[int], ascending: list[float], stall_gap_s: float,
            stall_factor: float | None) -> tuple[list[Stall], float]:
    """The stalls (gaps of at least the threshold, in chunk order) and the threshold, from the gaps `ascending`."""
    threshold = stall_gap_s
    if stall_factor is not None and ascending:
        threshold = min(threshold, stall_factor * percentile(ascending, 0.5))
    if not ascending or ascending[-1] < threshold:  # the common case: no gap is a stall
        return [], threshold
    gaps = [(b - a) * _NS for a, b in zip(times, times[1:], strict=False)]
    stalls = [Stall(start, gap) for start, gap in zip(times, gaps, strict=False) if gap >= threshold]
    return stalls, threshold


def measure(call: LlmCall, *, stall_gap_s: float, stall_factor: float | None = None) -> Cadence:
    """Everything the `stream` processor's cadence section derives from one LLM call's timing evidence."""
    record = call.record
    start = record.start_time_unix_nano if record.HasField("start_time_unix_nano") else None
    end = record.end_time_unix_nano if record.HasField("end_time_unix_nano") else None
    tokens = record.output_tokens if record.HasField("output_tokens") else None
    result = Cadence()
    if start is not None and end is not None and end >= start:
        result.duration_s = (end - start) * _NS
        if tokens is not None and result.duration_s > 0:
            result.tokens_per_s = tokens / result.duration_s
    if call.chunk_times:
        _from_chunk_events(result, order_chunks(call.chunk_times), start, tokens, stall_gap_s, stall_factor)
    elif call.first_token_time is not None:
        result.source = "first_token_only"
        result.first_chunk = call.first_token_time
        result.ttft_s = _since(start, call.first_token_time)
        result.tpot_s = _mean_rate(call.first_token_time, end, tokens)
    elif call.reported_ttft_s is not None:
        result.source = "reported"
        result.ttft_s = call.reported_ttft_s
        anchored = (call.ttft_clock is not TtftClock.AFTER_HEADERS or call.ttft_from is not None) and start is not None
        if anchored:  # the reported TTFT starts at the span start (or `ttft_from`), so it places the first chunk
            result.first_chunk = (call.ttft_from or start) + round(call.reported_ttft_s / _NS)
            result.ttft_s = _since(start, result.first_chunk)
        result.tpot_s = call.reported_tpot_s
        if result.tpot_s is None and anchored:
            result.tpot_s = _mean_rate(result.first_chunk, end, tokens)
    return result


def _from_chunk_events(result: Cadence, chunks: Chunks, start: int | None, tokens: int | None,
                       stall_gap_s: float, stall_factor: float | None) -> None:
    times = chunks.times
    result.source = "chunk_events"
    result.first_chunk, result.last_chunk = times[0], times[-1]
    result.chunk_times = tuple(times)
    result.chunk_count = len(times)
    result.duplicates, result.out_of_order = chunks.duplicates, chunks.out_of_order
    result.ttft_s = _since(start, times[0])
    steps = tokens if tokens is not None else len(times)
    result.tpot_s = _mean_rate(times[0], times[-1], steps)
    result.gaps = sorted_gaps(times)  # computed once: the stall threshold and the percentiles both need them sorted
    result.stalls, result.stall_threshold_s = _stalls(times, result.gaps, stall_gap_s, stall_factor)
    if result.gaps:
        result.gap_p50_s = percentile(result.gaps, 0.5)
        result.gap_p95_s = percentile(result.gaps, 0.95)
        result.gap_max_s = result.gaps[-1]


def _since(start: int | None, time: int) -> float | None:
    """Seconds from start to time; unknown when the start is unknown or after the time (clock skew)."""
    if start is None or time < start:
        return None
    return (time - start) * _NS


def _mean_rate(first: int | None, last: int | None, steps: int | None) -> float | None:
    """(last - first) / (steps - 1): the mean time per output token (or chunk) after the first; unknown when
    first and last coincide (one chunk carried everything)."""
    if first is None or last is None or steps is None or steps < 2 or last <= first:
        return None
    return (last - first) * _NS / (steps - 1)
