from __future__ import annotations

import pytest

from processor.extensions.streamz.timeline import MAX_TICKS, build_timeline

S = 1_000_000_000
T0 = 1_700_000_000 * S


def test_offsets_are_seconds_from_the_start_and_gaps_at_the_threshold_are_stalls():
    chunks = [T0 + S // 2, T0 + S, T0 + 3 * S, T0 + 3 * S + S // 10]
    record = {"start_time_unix_nano": T0, "first_chunk_time_unix_nano": chunks[0],
              "last_chunk_time_unix_nano": chunks[-1], "end_time_unix_nano": T0 + 4 * S}
    plan = build_timeline(record, list(reversed(chunks)), stall_gap_s=2.0)
    assert plan["source"] == "chunk_events"
    assert plan["chunks"] == [0.5, 1.0, 3.0, 3.1]
    assert plan["first_token_s"] == 0.5 and plan["last_chunk_s"] == 3.1 and plan["end_s"] == 4.0
    assert plan["span_s"] == 4.0
    assert plan["stalls"] == [{"from_s": 1.0, "to_s": 3.0, "gap_s": 2.0}]
    assert build_timeline(record, chunks, stall_gap_s=2.5)["stalls"] == []


def test_without_chunk_times_only_the_records_own_moments_are_placed():
    record = {"start_time_unix_nano": T0, "first_chunk_time_unix_nano": T0 + S, "end_time_unix_nano": T0 + 2 * S}
    plan = build_timeline(record, None, stall_gap_s=2.0)
    assert plan["source"] == "summary"
    assert plan["chunks"] == [] and plan["stalls"] == []
    assert (plan["first_token_s"], plan["end_s"], plan["span_s"]) == (1.0, 2.0, 2.0)
    assert "last_chunk_s" not in plan


def test_a_record_without_any_time_has_an_empty_plan():
    assert build_timeline({"route": "/x"}, [], stall_gap_s=2.0) == {"source": "none", "span_s": 0.0, "chunks": [],
                                                                     "stalls": []}


def test_duplicate_chunk_times_are_drawn_once():
    plan = build_timeline({"start_time_unix_nano": T0}, [T0 + S, T0 + S, T0 + 2 * S], stall_gap_s=2.0)
    assert plan["chunks"] == [1.0, 2.0] and plan["chunk_total"] == 2


@pytest.mark.parametrize("count", [MAX_TICKS + 1, 5 * MAX_TICKS])
def test_long_streams_are_thinned_but_their_stalls_are_kept(count):
    chunks = [T0 + i * S // 100 for i in range(count)]
    chunks.append(chunks[-1] + 5 * S)  # the stall is at the very end, between ticks the thinning may skip
    plan = build_timeline({"start_time_unix_nano": T0}, chunks, stall_gap_s=2.0)
    assert len(plan["chunks"]) == MAX_TICKS
    assert plan["chunk_total"] == count + 1
    assert [round(s["gap_s"], 3) for s in plan["stalls"]] == [5.0]
