from __future__ import annotations

import pytest

from tests.support.scenario import ServerScenario, from_dict
from tests.support.stream_plan import build_plan


def kinds(scenario: ServerScenario, body: dict | None = None) -> list[str]:
    return [step.kind for step in build_plan(scenario, body or {"stream": True}).steps]


def test_full_stream_has_role_content_finish_done_and_usage_only_when_asked() -> None:
    scenario = ServerScenario(content_chunks=3)
    assert kinds(scenario) == ["role", "content", "content", "content", "finish", "done"]
    with_usage = {"stream": True, "stream_options": {"include_usage": True}}
    assert kinds(scenario, with_usage) == ["role", "content", "content", "content", "finish", "usage", "done"]


def test_max_tokens_below_chunk_count_cuts_to_length() -> None:
    plan = build_plan(ServerScenario(content_chunks=12), {"max_tokens": 4})
    assert (plan.content_chunks, plan.finish_reason) == (4, "length")
    assert build_plan(ServerScenario(content_chunks=3), {"max_tokens": 64}).finish_reason == "stop"
    assert build_plan(ServerScenario(tool_call=True), {}).finish_reason == "tool_calls"


def test_stalls_replace_the_gap_after_the_given_content_chunk_and_add_up() -> None:
    scenario = from_dict({"chunk_gap": 0.01, "content_chunks": 5, "stall_after": 2, "stall_seconds": 0.5,
                          "stalls": [[4, 0.25], [2, 0.1]]})
    delays = [(step.kind, step.delay_s, step.stall) for step in build_plan(scenario, {}).steps]
    assert delays[3] == ("content", pytest.approx(0.6), True)  # third content chunk waits the summed stalls
    assert delays[5] == ("content", 0.25, True)
    assert sum(stall for _, _, stall in delays) == 2


def test_disconnect_wins_over_a_stall_at_the_same_point() -> None:
    scenario = ServerScenario(content_chunks=5, stall_after=2, stall_seconds=1.0, disconnect_after=2)
    assert kinds(scenario) == ["role", "content", "content", "disconnect"]
    assert not any(step.stall for step in build_plan(scenario, {}).steps)


def test_attempt_overrides_apply_per_attempt_and_the_last_repeats() -> None:
    scenario = from_dict({"content_chunks": 5, "attempts": [{"disconnect_after": 2}, {}]})
    assert scenario.for_attempt(1).disconnect_after == 2
    assert scenario.for_attempt(2).disconnect_after is None
    assert scenario.for_attempt(3).disconnect_after is None


def test_unknown_keys_and_modes_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown scenario keys"):
        from_dict({"first_dealy": 1})
    with pytest.raises(ValueError, match="disconnect_mode"):
        from_dict({"disconnect_mode": "explode"})
