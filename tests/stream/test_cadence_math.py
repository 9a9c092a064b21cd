from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.conventions.base import TtftClock
from processor.stream.cadence_math import measure, order_chunks, percentile
from tests.stream.builders import MS, T0, make_call

offsets = st.lists(st.integers(min_value=0, max_value=5_000 * MS), min_size=1, max_size=60)
tokens = st.one_of(st.none(), st.integers(min_value=0, max_value=500))
stall_gaps = st.floats(min_value=0.001, max_value=3.0)


@given(offsets, tokens, stall_gaps)
def test_cadence_invariants_hold_for_any_chunk_times(raw, output_tokens, stall_gap):
    chunks = [T0 + o for o in raw]
    c = measure(make_call(chunks=chunks, output_tokens=output_tokens, end=max(chunks) + MS), stall_gap_s=stall_gap)
    distinct = sorted(set(chunks))
    gaps = [(b - a) / 1e9 for a, b in zip(distinct, distinct[1:], strict=False)]
    assert c.source == "chunk_events"
    assert c.chunk_count == len(distinct) and c.duplicates == len(chunks) - len(distinct)
    assert c.first_chunk == distinct[0] and c.last_chunk == distinct[-1]
    assert c.ttft_s == pytest.approx((distinct[0] - T0) / 1e9) and c.ttft_s >= 0
    assert all(g > 0 for g in c.gaps)
    assert len(c.stalls) == sum(1 for g in gaps if g >= stall_gap)
    if len(distinct) == 1:
        assert c.gap_p50_s is None and c.gap_max_s is None and c.tpot_s is None
    else:
        assert 0 < c.gap_p50_s <= c.gap_p95_s <= c.gap_max_s == pytest.approx(max(gaps))
    steps = output_tokens if output_tokens is not None else len(distinct)
    if steps < 2:
        assert c.tpot_s is None
    elif len(distinct) > 1:
        assert c.tpot_s == pytest.approx((distinct[-1] - distinct[0]) / 1e9 / (steps - 1))


@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=40))
def test_order_chunks_counts_duplicates_and_inversions(raw):
    chunks = order_chunks(raw)
    assert chunks.times == sorted(set(raw))
    assert chunks.duplicates == len(raw) - len(set(raw))
    assert chunks.out_of_order == sum(1 for a, b in zip(raw, raw[1:], strict=False) if b < a)


@given(offsets, st.floats(min_value=1.0, max_value=10.0), stall_gaps)
def test_stall_factor_only_adds_stalls(raw, factor, stall_gap):
    call = make_call(chunks=[T0 + o for o in raw])
    plain = measure(call, stall_gap_s=stall_gap)
    with_factor = measure(call, stall_gap_s=stall_gap, stall_factor=factor)
    assert plain.stall_threshold_s == stall_gap and with_factor.stall_threshold_s <= stall_gap
    assert {s.start_unix_nano for s in plain.stalls} <= {s.start_unix_nano for s in with_factor.stalls}
    assert all(s.gap_s >= with_factor.stall_threshold_s for s in with_factor.stalls)


@given(st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=50))
def test_percentiles_are_ordered_and_bounded(values):
    values.sort()
    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    assert values[0] <= p50 <= p95 <= values[-1]


def test_stall_of_one_and_a_half_seconds_is_found_with_its_start():
    chunks = [T0 + 300 * MS + i * 50 * MS for i in range(6)]
    chunks += [chunks[-1] + 1500 * MS + i * 50 * MS for i in range(6)]
    c = measure(make_call(chunks=chunks, output_tokens=12), stall_gap_s=1.0)
    assert [(s.start_unix_nano, round(s.gap_s, 3)) for s in c.stalls] == [(chunks[5], 1.5)]
    assert c.ttft_s == pytest.approx(0.3) and c.gap_p50_s == pytest.approx(0.05)
    assert c.tpot_s == pytest.approx((chunks[-1] - chunks[0]) / 1e9 / 11)


def test_stall_factor_finds_a_gap_long_for_this_stream_but_under_stall_gap():
    chunks = [T0 + i * 10 * MS for i in range(10)] + [T0 + 9 * 10 * MS + 200 * MS]
    assert measure(make_call(chunks=chunks), stall_gap_s=2.0).stalls == []
    assert len(measure(make_call(chunks=chunks), stall_gap_s=2.0, stall_factor=5).stalls) == 1


def test_first_token_event_gives_ttft_and_a_mean_rate_but_no_stalls():
    c = measure(make_call(first_token_time=T0 + 320 * MS, end=T0 + 920 * MS, output_tokens=13), stall_gap_s=1)
    assert c.source == "first_token_only" and c.ttft_s == pytest.approx(0.32)
    assert c.tpot_s == pytest.approx(0.05) and c.stalls is None and c.gap_p50_s is None and c.chunk_count is None


def test_reported_ttft_after_headers_does_not_place_the_first_chunk():
    after_headers = measure(make_call(reported_ttft_s=0.3, ttft_clock=TtftClock.AFTER_HEADERS, output_tokens=12,
                                      end=T0 + 900 * MS), stall_gap_s=1)
    from_start = measure(make_call(reported_ttft_s=0.3, output_tokens=12, end=T0 + 850 * MS), stall_gap_s=1)
    assert after_headers.source == "reported" and after_headers.ttft_s == 0.3
    assert after_headers.first_chunk is None and after_headers.tpot_s is None
    assert from_start.first_chunk == T0 + 300 * MS and from_start.tpot_s == pytest.approx(0.05)


def test_unknown_stays_unknown():
    c = measure(make_call(start=None), stall_gap_s=1)
    assert (c.source, c.ttft_s, c.tpot_s, c.duration_s, c.tokens_per_s, c.stalls) == (None,) * 6


def test_zero_tokens_give_no_rate_and_a_chunk_before_the_start_no_ttft():
    c = measure(make_call(chunks=[T0 - MS, T0 + 9 * MS], output_tokens=0, end=T0 + 10 * MS), stall_gap_s=1)
    assert c.tpot_s is None and c.ttft_s is None and c.tokens_per_s == 0.0 and c.chunk_count == 2
