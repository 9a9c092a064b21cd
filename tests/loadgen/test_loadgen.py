"""loadgen as a newcomer uses it: against a running tokenstream, saying what it sent."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from processor.loadgen.profiles import PROFILES, draw
from processor.loadgen.spans import CHUNK_EVENT, TraceBuilder
from processor.model.batch import Signal
from tests.e2e.test_run import read_jsonl


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_loadgen_sends_what_it_says_it_sent(tokenstream, ports, tmp_path, protocol):
    port = ports.grpc if protocol == "grpc" else ports.http
    result = subprocess.run([sys.executable, "-m", "processor", "loadgen", "--endpoint", f"127.0.0.1:{port}",
                             "--protocol", protocol, "--rate", "40", "--duration", "1s", "--profile", "mixed",
                             "--seed", "7"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert tokenstream.stop() == 0
    spans = [s for r in read_jsonl(tmp_path / "spans.jsonl", Signal.TRACES) for rs in r.resource_spans
             for ss in rs.scope_spans for s in ss.spans]
    chunk_events = sum(1 for s in spans for e in s.events if e.name == CHUNK_EVENT)
    assert f"({sum(1 for s in spans if s.name.endswith('.chat'))} LLM spans, {len(spans)} spans, " \
           f"{chunk_events} chunk events)" in result.stdout, result.stdout
    assert 30 <= len({s.trace_id for s in spans}) <= 50


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_each_profile_draws_only_its_kinds(profile):
    rng = random.Random(3)
    kinds = {draw(profile, rng).kind for _ in range(400)}
    assert kinds == set(PROFILES[profile])


def test_a_retry_is_two_llm_calls_under_one_parent_the_first_failed_after_chunks():
    rng = random.Random(5)
    plan = draw("retries", rng)
    while plan.kind != "retry":
        plan = draw("retries", rng)
    builder = TraceBuilder(rng)
    builder.add(plan)
    spans = [s for ss in builder.request.resource_spans[0].scope_spans for s in ss.spans]
    root = next(s for s in spans if s.name.startswith("POST"))
    first, second = sorted((s for s in spans if s.name.endswith(".chat")), key=lambda s: s.start_time_unix_nano)
    assert first.parent_span_id == second.parent_span_id == root.span_id
    assert first.status.code == first.status.STATUS_CODE_ERROR and len(first.events) > 2
    assert second.status.code == second.status.STATUS_CODE_OK
    assert root.start_time_unix_nano <= first.start_time_unix_nano < first.end_time_unix_nano
    assert first.end_time_unix_nano < second.start_time_unix_nano < second.end_time_unix_nano <= root.end_time_unix_nano


def test_a_stall_shows_as_a_long_gap_between_chunk_events():
    rng = random.Random(11)
    plan = draw("stalls", rng)
    while plan.kind != "stall":
        plan = draw("stalls", rng)
    builder = TraceBuilder(rng)
    builder.add(plan)
    llm = next(s for ss in builder.request.resource_spans[0].scope_spans for s in ss.spans if s.name.endswith(".chat"))
    times = [e.time_unix_nano for e in llm.events]
    longest = max(b - a for a, b in zip(times, times[1:], strict=False)) / 1e9
    assert longest >= max(seconds for _, seconds in plan.stalls)
