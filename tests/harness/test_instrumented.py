"""The driver: the real openai SDK under each installed instrumentation, exporting with the real OTel SDK exporter
to a local OTLP/gRPC capture. The captured spans must carry each convention's markers and match the clocks."""

from __future__ import annotations

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.support.instrumented import RunResult, in_transit, run_instrumented_async
from tests.support.instrumentors import available
from tests.support.otlp_capture import OtlpCapture

SCENARIO = {"name": "normal", "first_delay": 0.2, "chunk_gap": 0.03, "content_chunks": 6}
LLM_SPAN = {"traceloop": "openai.chat", "openinference": "ChatCompletion", "openai_v2": "chat gpt-4o-mini"}


def needs(instr: str):
    return pytest.mark.skipif(not available(instr), reason=f"{instr} instrumentation not installed")


async def spans_of(capture: OtlpCapture, run: RunResult, llm_spans: int) -> tuple[Span, list[Span]]:
    """The run's parent span and its LLM spans (children of the parent), once all have arrived."""
    trace_id = bytes.fromhex(run.trace_id)

    def complete(spans: list[Span]) -> bool:
        mine = [s for s in spans if s.trace_id == trace_id]
        return any(s.name == "harness.scenario" for s in mine) and len(mine) >= llm_spans + 1

    spans = [s for s in await capture.wait_for_spans(complete, timeout=15) if s.trace_id == trace_id]
    parent = next(s for s in spans if s.name == "harness.scenario")
    assert parent.span_id.hex() == run.parent_span_id
    children = [s for s in spans if s.parent_span_id == parent.span_id]
    return parent, sorted(children, key=lambda s: s.start_time_unix_nano)


@needs("traceloop")
async def test_traceloop_exports_one_chunk_event_per_chunk_pulled(stream_server, otlp_capture) -> None:
    run = await run_instrumented_async("traceloop", SCENARIO, otlp_capture.endpoint, server=stream_server)
    _, (llm,) = await spans_of(otlp_capture, run, 1)
    assert llm.name == LLM_SPAN["traceloop"] and llm.kind == Span.SPAN_KIND_CLIENT
    chunk_events = [e.time_unix_nano for e in llm.events if e.name == "gen_ai.content.completion.chunk"]
    arrivals = run.chunk_arrivals()
    assert len(chunk_events) == len(arrivals) == 6 + 3  # role + content + finish + usage
    # each event is stamped as its chunk is handed to the app (the library wraps the SDK's __next__)
    assert in_transit(chunk_events, run.chunk_writes(), arrivals), (chunk_events, run.chunk_writes(), arrivals)
    assert run.attempt_outcome() == "finished" and run.server_records[0].named("done_sent")


@needs("openinference")
async def test_openinference_first_token_event_matches_the_client_clock(stream_server, otlp_capture) -> None:
    run = await run_instrumented_async("openinference", SCENARIO, otlp_capture.endpoint, server=stream_server)
    _, (llm,) = await spans_of(otlp_capture, run, 1)
    attributes = {a.key: a.value.string_value for a in llm.attributes}
    assert llm.kind == Span.SPAN_KIND_INTERNAL and attributes["openinference.span.kind"] == "LLM"
    (first,) = [e for e in llm.events if e.name == "First Token Stream Event"]
    assert in_transit([first.time_unix_nano], run.chunk_writes()[:1], run.chunk_arrivals()[:1])
    # the app's TTFT is the server's first delay, never less: the app's own start-up (and a loaded machine) add
    assert run.client_ttft_ns() / 1e9 >= 0.2 - 0.01


@needs("openinference")
async def test_openinference_marks_an_aborted_stream_as_error(stream_server, otlp_capture) -> None:
    scenario = {**SCENARIO, "name": "cutoff", "disconnect_after": 3}
    run = await run_instrumented_async("openinference", scenario, otlp_capture.endpoint, server=stream_server)
    _, (llm,) = await spans_of(otlp_capture, run, 1)
    assert run.attempt_outcome() == "exception:openai.APIConnectionError"
    assert llm.status.code == Status.STATUS_CODE_ERROR


@needs("openai_v2")
async def test_openai_v2_exports_its_chat_span_and_choice_log(stream_server, otlp_capture) -> None:
    run = await run_instrumented_async("openai_v2", SCENARIO, otlp_capture.endpoint, server=stream_server)
    _, (llm,) = await spans_of(otlp_capture, run, 1)
    assert llm.name == LLM_SPAN["openai_v2"] and llm.kind == Span.SPAN_KIND_CLIENT
    attributes = {a.key for a in llm.attributes}
    assert "gen_ai.response.finish_reasons" not in attributes  # 2.4b0 never sets it on streams (CONVENTIONS §0.6)
    event_names = {r.event_name for r in otlp_capture.log_records() if r.span_id == llm.span_id}
    assert "gen_ai.choice" in event_names


@needs("traceloop")
async def test_app_level_retry_after_a_cutoff_shares_the_parent_span(stream_server, otlp_capture) -> None:
    scenario = {**SCENARIO, "name": "app_retry", "app_retries": 1, "attempts": [{"disconnect_after": 3}, {}]}
    run = await run_instrumented_async("traceloop", scenario, otlp_capture.endpoint, server=stream_server)
    assert run.attempt_outcome(1) == "exception:openai.APIConnectionError" and run.attempt_outcome(2) == "finished"
    _, llm_spans = await spans_of(otlp_capture, run, 2)
    assert [s.name for s in llm_spans] == [LLM_SPAN["traceloop"]] * 2
    chunk_counts = [sum(e.name == "gen_ai.content.completion.chunk" for e in s.events) for s in llm_spans]
    assert chunk_counts == [len(run.chunk_arrivals(1)), len(run.chunk_arrivals(2))] == [1 + 3, 6 + 3]
    assert [r.attempt for r in run.server_records] == [1, 2]
    assert run.server_records[0].named("disconnect") and run.server_records[1].named("done_sent")


@needs("openinference")
async def test_client_cancel_leaves_openinference_status_unset(stream_server, otlp_capture) -> None:
    scenario = {**SCENARIO, "name": "client_cancel", "close_after": 4}
    run = await run_instrumented_async("openinference", scenario, otlp_capture.endpoint, server=stream_server)
    _, (llm,) = await spans_of(otlp_capture, run, 1)
    assert run.attempt_outcome() == "closed" and len(run.chunk_arrivals()) == 4
    assert llm.status.code == Status.STATUS_CODE_UNSET


@needs("traceloop")
async def test_clean_eof_looks_successful_to_traceloop_but_has_no_finish_reason(stream_server, otlp_capture) -> None:
    scenario = {**SCENARIO, "name": "cutoff_clean", "disconnect_after": 3, "disconnect_mode": "eof"}
    run = await run_instrumented_async("traceloop", scenario, otlp_capture.endpoint, server=stream_server)
    _, (llm,) = await spans_of(otlp_capture, run, 1)
    assert run.attempt_outcome() == "finished"
    assert llm.status.code != Status.STATUS_CODE_ERROR
    assert "gen_ai.response.finish_reasons" not in {a.key for a in llm.attributes}


@needs("traceloop")
async def test_otlp_http_export_with_the_runs_own_server_and_log_events(otlp_capture) -> None:
    scenario = {**SCENARIO, "name": "http_export", "tool_call": True}
    run = await run_instrumented_async("traceloop_events", scenario, otlp_capture.http_endpoint)
    _, (llm,) = await spans_of(otlp_capture, run, 1)
    finish = [a.value.array_value.values[0].string_value for a in llm.attributes
              if a.key == "gen_ai.response.finish_reasons"]
    assert finish == ["tool_call"]  # Traceloop's singular spelling (CONVENTIONS §0.6)
    assert [r.attempt for r in run.server_records] == [1] and run.server_records[0].named("done_sent")
    assert any(r.span_id == llm.span_id for r in otlp_capture.log_records())
    assert {c.signal for c in otlp_capture.requests} >= {"traces", "logs"}
