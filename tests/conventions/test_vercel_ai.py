from __future__ import annotations

from processor.conventions import read_llm_call, select
from processor.conventions.base import Piece, SpanStatus, TtftClock
from tests.conventions.spans import MS, T0, make_span, resource, scope

V7_DO_STREAM = {
    "ai.operationId": "ai.streamText.doStream",
    "operation.name": "ai.streamText.doStream chat-route",
    "ai.model.provider": "openai.chat",
    "ai.model.id": "gpt-4o-mini",
    "gen_ai.system": "openai.chat",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.finish_reasons": ["tool-calls"],
    "gen_ai.usage.input_tokens": 21,
    "gen_ai.usage.output_tokens": 9,
    "ai.response.msToFirstChunk": 412.5,
    "ai.response.msToFinish": 880.0,
    "ai.response.text": "Looking up the weather",
    "ai.response.id": "resp_1",
    "ai.telemetry.metadata.sessionId": "sess-42",
}


def _read(span, conventions=("auto",)):
    return read_llm_call(span, resource("web"), scope("ai"), select(list(conventions)))


def test_v7_do_stream_takes_ttft_from_the_attribute_not_the_first_chunk_event_time():
    # v7 adds ai.stream.firstChunk when the step ends: its timestamp (890 ms) is not the first chunk's arrival
    span = make_span("ai.streamText.doStream", V7_DO_STREAM,
                     events=[("ai.stream.firstChunk", 890, {"ai.response.msToFirstChunk": 412.5}),
                             ("ai.stream.finish", 890, {})])
    call = _read(span)
    record = call.record
    assert record.convention == "vercel_ai"
    assert call.streaming is True
    assert call.reported_ttft_s == 0.4125
    assert call.ttft_clock is TtftClock.REQUEST_START
    assert call.first_token_time is None and call.chunk_times == []
    assert call.reported_duration_s == 0.88
    assert (record.provider, record.request_model, record.response_model) == \
        ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert record.operation == "chat"
    assert record.finish_reason == "tool_calls"
    assert (record.input_tokens, record.output_tokens) == (21, 9)
    assert record.session_id == "sess-42"
    assert record.service == "web"
    assert (record.start_time_unix_nano, record.end_time_unix_nano) == (T0, T0 + 900 * MS)
    assert call.completion_text == "Looking up the weather"
    assert call.request_id == "resp_1"
    assert call.status is SpanStatus.UNSET


def test_older_object_stream_uses_ai_stream_ms_to_first_chunk_and_ai_usage_keys():
    span = make_span("ai.streamObject.doStream", {
        "ai.operationId": "ai.streamObject.doStream", "ai.model.provider": "anthropic.messages",
        "ai.model.id": "claude-3-5-haiku", "ai.stream.msToFirstChunk": 250,
        "ai.usage.promptTokens": 40, "ai.usage.completionTokens": 64, "ai.response.finishReason": "length",
        "ai.response.object": '{"city": "Paris"}',
    })
    call = _read(span)
    assert call.record.convention == "vercel_ai"
    assert call.reported_ttft_s == 0.25
    assert (call.record.provider, call.record.request_model) == ("anthropic", "claude-3-5-haiku")
    assert (call.record.input_tokens, call.record.output_tokens) == (40, 64)
    assert call.record.finish_reason == "length"
    assert call.completion_text == '{"city": "Paris"}'


def test_ttft_only_on_the_first_chunk_event_is_read_from_its_attribute():
    attrs = {k: v for k, v in V7_DO_STREAM.items() if k != "ai.response.msToFirstChunk"}
    span = make_span("ai.streamText.doStream", attrs,
                     events=[("ai.stream.firstChunk", 890, {"ai.response.msToFirstChunk": 300})])
    assert _read(span).reported_ttft_s == 0.3


def test_the_root_stream_text_span_is_a_wrapper_piece_of_the_call():
    root = make_span("ai.streamText", {"ai.operationId": "ai.streamText", "ai.model.id": "gpt-4o-mini",
                                       "ai.response.text": "hi", "gen_ai.request.model": "gpt-4o-mini"})
    call = _read(root)
    assert call.piece is Piece.WRAPPER
    assert call.consumer_closed is True  # no finish reason and no error: the app aborted the stream


def test_errors_are_read_from_the_exception_event():
    span = make_span("ai.streamText.doStream", V7_DO_STREAM, status=2, message="fetch failed",
                     events=[("exception", 500, {"exception.type": "AI_APICallError", "exception.message": "x"})])
    call = _read(span)
    assert call.status is SpanStatus.ERROR
    assert call.record.error_type == "AI_APICallError"


def test_new_integration_semconv_span_reads_time_to_first_chunk_span_attribute():
    span = make_span("chat gpt-4o-mini", {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.client.operation.time_to_first_chunk": 0.42, "gen_ai.client.operation.time_per_output_chunk": 0.05,
        "gen_ai.client.operation.duration": 1.1, "gen_ai.response.finish_reasons": ["stop"],
    })
    call = _read(span)
    assert call.record.convention == "genai_semconv"
    assert call.streaming is True  # a time to first chunk is only reported for streams
    assert (call.reported_ttft_s, call.reported_tpot_s, call.reported_duration_s) == (0.42, 0.05, 1.1)
