from __future__ import annotations

import pytest

from processor.extensions.streamz.timeline import MAX_TICKS, build_timeline
from processor.model.chunks import Stall, StreamChunks

S = 1_000_000_000
T0 = 1_700_000_000 * S


def chunks(times: list[int], *stalls: Stall) -> StreamChunks:
    return StreamChunks(b"\x01" * 8, tuple(times), stalls)


def test_offsets_are_seconds_from_the_start_and_the_processors_stalls_are_drawn():
    times = [T0 + S // 2, T0 + S, T0 + 3 * S, T0 + 3 * S + S // 10]
    record = {"start_time_unix_nano": T0, "first_chunk_time_unix_nano": times[0],
              "last_chunk_time_unix_nano": times[-1], "end_time_unix_nano": T0 + 4 * S}
    plan = build_timeline(record, chunks(times, Stall(T0 + S, 2.0)))
    assert plan["source"] == "chunk_events"
    assert plan["chunks"] == [0.5, 1.0, 3.0, 3.1]
    assert plan["first_token_s"] == 0.5 and plan["last_chunk_s"] == 3.1 and plan["end_s"] == 4.0
    assert plan["span_s"] == 4.0
    assert plan["stalls"] == [{"from_s": 1.0, "to_s": 3.0, "gap_s": 2.0}]


def test_stalls_are_the_processors_never_recomputed_from_the_gaps():
    times = [T0 + S // 10 * i for i in range(5)] + [T0 + 5 * S, T0 + 5 * S + S // 10, T0 + 5 * S + 4 * S // 10]
    # the processor (e.g. with stall_factor) called the 0.3 s gap a stall and not the 4.6 s one: the page agrees
    plan = build_timeline({"start_time_unix_nano": T0}, chunks(times, Stall(times[-2], 0.3)))
    assert plan["stalls"] == [{"from_s": 5.1, "to_s": 5.4, "gap_s": 0.3}]
    assert build_timeline({"start_time_unix_nano": T0}, chunks(times))["stalls"] == []


def test_without_chunks_only_the_records_own_moments_are_placed():
    record = {"start_time_unix_nano": T0, "first_chunk_time_unix_nano": T0 + S, "end_time_unix_nano": T0 + 2 * S}
    plan = build_timeline(record, None)
    assert plan["source"] == "summary"
    assert plan["chunks"] == [] and plan["stalls"] == []
    assert (plan["first_token_s"], plan["end_s"], plan["span_s"]) == (1.0, 2.0, 2.0)
    assert "last_chunk_s" not in plan


def test_a_record_without_any_time_has_an_empty_plan():
    assert build_timeline({"route": "/x"}, None) == {"source": "none", "span_s": 0.0, "chunks": [], "stalls": []}


@pytest.mark.parametrize("count", [MAX_TICKS + 1, 5 * MAX_TICKS])
def test_long_streams_are_thinned_but_their_stalls_are_kept(count):
    times = [T0 + i * S // 100 for i in range(count)]
    times.append(times[-1] + 5 * S)  # the stall is at the very end, between ticks the thinning may skip
    plan = build_timeline({"start_time_unix_nano": T0}, chunks(times, Stall(times[-2], 5.0)))
    assert len(plan["chunks"]) == MAX_TICKS
    assert plan["chunk_total"] == count + 1
    assert [(s["to_s"], s["gap_s"]) for s in plan["stalls"]] == [(round((times[-1] - T0) / S, 6), 5.0)]
