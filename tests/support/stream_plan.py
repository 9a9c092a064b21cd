"""The schedule of one streamed response: which chunk is written after which delay, and where it ends."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.support.scenario import ServerScenario


@dataclasses.dataclass(frozen=True)
class Step:
    """One thing the server does: wait `delay_s`, then write a chunk of `kind` or end the body.

    kind: role | content | finish | usage | done | disconnect. `stall` is True when the wait is a scripted stall.
    """

    kind: str
    delay_s: float
    index: int
    stall: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class StreamPlan:
    steps: tuple[Step, ...]
    content_chunks: int
    finish_reason: str
    include_usage: bool


def requested_max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens") or body.get("max_tokens")
    return int(value) if isinstance(value, int | float) else None


def resolve_output(scenario: ServerScenario, body: dict[str, Any]) -> tuple[int, str]:
    """How many content chunks the model 'generates' and why it stops (`length` when max_tokens cuts it short)."""
    chunks = scenario.content_chunks
    max_tokens = requested_max_tokens(body)
    cut_by_max_tokens = max_tokens is not None and max_tokens < chunks
    if cut_by_max_tokens:
        chunks = max(max_tokens, 0)
    if scenario.finish_reason:
        return chunks, scenario.finish_reason
    if cut_by_max_tokens:
        return chunks, "length"
    return chunks, "tool_calls" if scenario.tool_call else "stop"


def build_plan(scenario: ServerScenario, body: dict[str, Any]) -> StreamPlan:
    chunks, finish_reason = resolve_output(scenario, body)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    stalls = scenario.stall_schedule()
    steps = [Step("role", scenario.first_delay, 0)]
    index = 1
    for sent in range(chunks + 1):
        # `sent` content chunks are out: a disconnect scripted here wins over a stall scripted here.
        if scenario.disconnect_after is not None and sent == scenario.disconnect_after:
            steps.append(Step("disconnect", 0.0, index))
            return StreamPlan(tuple(steps), sent, finish_reason, include_usage)
        stalled = sent in stalls
        delay = stalls[sent] if stalled else scenario.chunk_gap
        steps.append(Step("content" if sent < chunks else "finish", delay, index, stall=stalled))
        index += 1
    if include_usage:
        steps.append(Step("usage", 0.0, index))
        index += 1
    steps.append(Step("done", 0.0, index))
    return StreamPlan(tuple(steps), chunks, finish_reason, include_usage)
