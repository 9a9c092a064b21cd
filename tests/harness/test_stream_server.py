"""The scripted server as the real openai SDK sees it: schedule, chunk format, cut-offs, errors, retries."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest

from tests.support import sse_chunks
from tests.support.stream_server import StreamServer

EARLY_S = 0.005  # the server's sleeps may end this much early (timer granularity); never more
MESSAGES = [{"role": "user", "content": "hi"}]


def stream(client: openai.OpenAI, scenario: dict[str, Any] | None = None, **request: Any) -> tuple[int, list, list]:
    """(create-called ns, [(arrival ns, chunk)], [exception]) for one streamed call."""
    headers = {"X-Scenario": json.dumps(scenario)} if scenario else {}
    request = {"max_tokens": 64, "stream_options": {"include_usage": True}, **request}
    started, arrivals, errors = time.time_ns(), [], []
    try:
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                                    extra_headers=headers, **request):
            arrivals.append((time.time_ns(), chunk))
    except openai.APIError as exc:
        errors.append(exc)
    return started, arrivals, errors


def test_schedule_first_delay_gaps_and_two_stalls_are_what_the_client_sees(openai_client, stream_server) -> None:
    """The server writes on schedule (its own clock, never early), and the client reads each chunk as it is written
    (the two clocks' records compared): a loaded machine may make both late, neither early nor out of step."""
    scenario = {"first_delay": 0.25, "chunk_gap": 0.03, "content_chunks": 8, "stalls": [[3, 0.4], [6, 0.3]]}
    # a client's first stream pays its one-off costs (imports, models) while it reads, which a loaded machine
    # stretches to half a second: warmed up, what it reads late is only the machine's load
    assert not stream(openai_client, {"content_chunks": 1, "first_delay": 0.0, "key": "warm-up"})[2]
    started, arrivals, errors = stream(openai_client, scenario)
    assert not errors
    times = [t for t, _ in arrivals]
    record = next(r for r in stream_server.wait_finished(2) if r.key != "warm-up")
    written = record.chunk_times()
    assert len(written) == len(times)

    received = record.named("request_received")[0]["t_unix_nano"]
    assert (written[0] - received) / 1e9 >= 0.25 - EARLY_S
    assert (times[0] - started) / 1e9 >= 0.25 - EARLY_S
    gaps = [(b - a) / 1e9 for a, b in zip(written, written[1:], strict=False)]
    # chunk 0 is the role chunk, so the stall after content chunk 3 is the gap before write 4; the usage chunk
    # follows the finish chunk at once
    planned = [0.03] * len(gaps)
    planned[3], planned[6], planned[-1] = 0.4, 0.3, 0.0
    assert all(gap >= want - EARLY_S for gap, want in zip(gaps, planned, strict=True)), (gaps, planned)
    assert max(g for i, g in enumerate(gaps) if i not in (3, 6)) < 0.3, "only the two stalls are long gaps"
    # no chunk is read before it is written, and each reaches the client as it is written: the chunk before a stall
    # is read before the stall ends (0.3 s and more later), not held back until the next chunk's write
    assert all(sent <= arrived for sent, arrived in zip(written, times, strict=True))
    assert times[3] < written[4] and times[6] < written[7]
    stall_begins = [(e["after_content_chunks"], e["seconds"]) for e in record.named("stall_begin")]
    assert stall_begins == [(3, 0.4), (6, 0.3)]
    assert len(record.named("stall_end")) == 2 and record.named("done_sent")


def test_chunks_have_the_real_shape_role_content_finish_usage(openai_client, stream_server) -> None:
    _, arrivals, errors = stream(openai_client, {"content_chunks": 4, "first_delay": 0.05, "chunk_gap": 0.01})
    chunks = [chunk for _, chunk in arrivals]
    assert not errors and len(chunks) == 4 + 3
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content for c in chunks[1:5]) == "".join(sse_chunks.WORDS[:4])
    assert chunks[5].choices[0].finish_reason == "stop"
    assert chunks[6].choices == [] and chunks[6].usage.completion_tokens == 4
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1


def test_abort_drops_the_connection_and_the_client_gets_an_error(openai_client, stream_server) -> None:
    _, arrivals, errors = stream(openai_client, {"disconnect_after": 3, "disconnect_mode": "abort"})
    assert [type(e) for e in errors] == [openai.APIConnectionError]
    assert len(arrivals) == 1 + 3
    disconnect = stream_server.wait_finished(1)[0].named("disconnect")
    assert [(d["mode"], d["content_chunks_sent"]) for d in disconnect] == [("abort", 3)]


def test_eof_ends_the_body_cleanly_without_finish_or_done(openai_client, stream_server) -> None:
    _, arrivals, errors = stream(openai_client, {"disconnect_after": 2, "disconnect_mode": "eof"})
    assert not errors and len(arrivals) == 1 + 2
    assert all(c.choices and c.choices[0].finish_reason is None and c.usage is None for _, c in arrivals)
    record = stream_server.wait_finished(1)[0]
    assert not record.named("done_sent") and record.named("disconnect")[0]["mode"] == "eof"


def test_max_tokens_gives_length_and_tool_calls_stream_argument_deltas(openai_client) -> None:
    _, arrivals, _ = stream(openai_client, max_tokens=3)
    finishes = [c.choices[0].finish_reason for _, c in arrivals if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"] and arrivals[-1][1].usage.completion_tokens == 3

    _, arrivals, errors = stream(openai_client, {"tool_call": True})
    deltas = [c.choices[0].delta for _, c in arrivals if c.choices]
    assert not errors and deltas[0].tool_calls[0].function.name == "get_weather"
    assert "".join(d.tool_calls[0].function.arguments for d in deltas if d.tool_calls) == sse_chunks.TOOL_ARGS
    assert arrivals[-2][1].choices[0].finish_reason == "tool_calls"


def test_429_then_success_is_retried_by_the_sdk(stream_server) -> None:
    with openai.OpenAI(base_url=stream_server.base_url, api_key="sk-test", max_retries=2, timeout=15.0) as client:
        _, arrivals, errors = stream(client, {"fail_first_n": 1, "retry_after_ms": 50, "key": "k429"})
    assert not errors and arrivals
    records = stream_server.wait_finished(2, key="k429")
    assert [r.attempt for r in records] == [1, 2]
    assert records[0].named("http_error")[0]["status"] == 429 and records[1].named("done_sent")


def test_http_status_error_and_non_stream_completion(openai_client) -> None:
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(model="m", messages=MESSAGES,
                                              extra_headers={"X-Scenario": json.dumps({"http_status": 500})})
    completion = openai_client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=2)
    assert completion.choices[0].message.content == "".join(sse_chunks.WORDS[:2])
    assert completion.choices[0].finish_reason == "length"


def test_identical_requests_follow_the_attempt_script_and_the_queue(openai_client, stream_server) -> None:
    scenario = {"key": "app-retry", "attempts": [{"disconnect_after": 2}, {}]}
    first = stream(openai_client, scenario)
    second = stream(openai_client, scenario)
    assert [type(e) for e in first[2]] == [openai.APIConnectionError] and not second[2]
    stream_server.script({"content_chunks": 1, "first_delay": 0.0})
    queued = stream(openai_client)
    assert len(queued[1]) == 1 + 3


def test_stop_ends_a_stalled_response() -> None:
    server = StreamServer({"first_delay": 0.0, "stall_after": 0, "stall_seconds": 60}).start()
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=15.0) as client:
        response = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        next(iter(response))
        server.stop()
        assert server.wait_finished(1, timeout=5)[0].named("server_stopping")
        with pytest.raises(openai.APIConnectionError):
            list(response)
