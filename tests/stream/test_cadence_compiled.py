"""The compiled cadence math (processor/stream/_cadence.pyx) against its pure-Python reference
(processor.stream.cadence_math): the same answers for any chunk times, and for what it refuses the reference's."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.stream import cadence_math
from processor.stream.cadence_math import measure, sorted_gaps_reference, strictly_increasing_reference
from tests.stream.builders import MS, T0, make_call

try:
    from processor.stream import _cadence
except ImportError:
    _cadence = None

pytestmark = pytest.mark.skipif(_cadence is None, reason="the compiled cadence math is not built")

U64 = 2**64 - 1
#: Unix-ns times near now, and anything else an int can be: 0, the ends of 64 bits, negative, wider.
times = st.one_of(st.integers(T0, T0 + 10_000 * MS), st.integers(0, U64), st.sampled_from([0, 1, U64 - 1, U64]),
                  st.integers(-(2**70), 2**70))
unsigned = st.one_of(st.integers(T0, T0 + 10_000 * MS), st.integers(0, U64))


@given(st.lists(times, max_size=40))
def test_strictly_increasing_is_the_references_for_unsigned_64_bit_times_and_false_otherwise(values):
    fits = all(0 <= v <= U64 for v in values)
    assert _cadence.strictly_increasing(values) is (fits and strictly_increasing_reference(values))


@given(st.lists(unsigned, max_size=120, unique=True))
def test_sorted_gaps_are_the_references_to_the_last_bit(values):
    ordered = sorted(values)
    assert _cadence.sorted_gaps(ordered) == sorted_gaps_reference(ordered)


@given(st.lists(times, min_size=2, max_size=40))
def test_sorted_gaps_refuse_what_is_not_ascending_unsigned_64_bit(values):
    ascending = all(a <= b for a, b in zip(values, values[1:], strict=False))
    fits = all(0 <= v <= U64 for v in values)
    found = _cadence.sorted_gaps(values)
    assert found == (sorted_gaps_reference(values) if ascending and fits else None)


def test_what_is_not_an_int_is_refused():
    assert _cadence.strictly_increasing([T0, True]) is False
    assert _cadence.strictly_increasing([T0, float(T0 + 1)]) is False
    assert _cadence.sorted_gaps([T0, float(T0 + 1)]) is None


#: As spans carry them (in order, distinct: the compiled common case), and anyhow.
chunk_lists = st.one_of(st.lists(unsigned, min_size=1, max_size=120, unique=True).map(sorted),
                        st.lists(times, min_size=1, max_size=60))


@given(chunk_lists, st.one_of(st.none(), st.integers(0, 500)),
       st.floats(0.001, 3.0), st.one_of(st.none(), st.floats(1.0, 10.0)))
def test_measure_gives_the_same_cadence_compiled_and_pure(chunks, tokens, stall_gap, stall_factor):
    call = make_call(chunks=chunks, output_tokens=tokens, end=T0 + 20_000 * MS)
    compiled = measure(call, stall_gap_s=stall_gap, stall_factor=stall_factor)
    saved, cadence_math._cadence = cadence_math._cadence, None
    try:
        pure = measure(call, stall_gap_s=stall_gap, stall_factor=stall_factor)
    finally:
        cadence_math._cadence = saved
    assert dataclasses.asdict(compiled) == dataclasses.asdict(pure)
