from __future__ import annotations

import pytest

from processor.conventions import read_llm_call, select
from processor.conventions.base import SpanStatus
from processor.conventions.finish import first_reason, normalise
from tests.conventions.spans import make_span, resource, scope

BASE = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "OpenAI", "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.stream": True}


def _read(attrs, **span_args):
    return read_llm_call(make_span("chat gpt-4o", {**BASE, **attrs}, **span_args), resource(), scope(),
                         select(["auto"]))


@pytest.mark.parametrize(("raw", "normalised"), [
    ("stop", "stop"), ("tool_call", "tool_calls"), ("tool-calls", "tool_calls"), ("tool_use", "tool_calls"),
    ("MAX_TOKENS", "length"), ("content-filter", "content_filter"), ("end_turn", "stop"),
    ("", None), ("error", None), ("unknown", None), (None, None),
])
def test_finish_reasons_are_normalised(raw, normalised):
    assert normalise(raw) == normalised


def test_first_meaningful_reason_of_a_list():
    assert first_reason(["", "length"]) == "length"
    assert first_reason([""]) is None
    assert first_reason(None) is None


@pytest.mark.parametrize("key", ["session.id", "gen_ai.conversation.id", "session_id"])
def test_session_id_from_any_of_its_keys(key):
    assert _read({key: "s-1"}).record.session_id == "s-1"


def test_resend_count_is_read_as_a_retry_marker():
    assert _read({"http.request.resend_count": 2}).retry_markers == {"http.request.resend_count": 2}
    assert _read({}).retry_markers == {}


def test_provider_is_lowercased_and_semconv_stream_flag_read():
    call = _read({})
    assert call.record.provider == "openai" and call.streaming is True


@pytest.mark.parametrize(("message", "error_type"), [
    ("APIConnectionError: Connection error.", "APIConnectionError"),
    ("GeneratorExit()Traceback (most recent call last):", "GeneratorExit"),
    ("openai.APITimeoutError('Request timed out.')", "APITimeoutError"),
    ("Connection error.", None),
    ("Error code: 500 - Fake error 500", None),
])
def test_error_type_parsed_from_the_status_message_when_nothing_else_names_it(message, error_type):
    call = _read({}, status=2, message=message)
    assert call.status is SpanStatus.ERROR
    assert (call.record.error_type if call.record.HasField("error_type") else None) == error_type


def test_error_type_attribute_wins_over_exception_event_and_module_path_is_dropped():
    call = _read({"error.type": "openai.RateLimitError"}, status=2,
                 events=[("exception", 10, {"exception.type": "httpx.HTTPStatusError"})])
    assert call.record.error_type == "RateLimitError"
    call = _read({}, status=2, events=[("exception", 10, {"exception.type": "httpx.RemoteProtocolError"})])
    assert call.record.error_type == "RemoteProtocolError"


@pytest.mark.parametrize("source", ["error.type", "event", "message"])
def test_generator_exit_anywhere_means_the_consumer_closed_the_stream(source):
    if source == "error.type":
        call = _read({"error.type": "GeneratorExit"}, status=2)
    elif source == "event":
        call = _read({}, status=2, events=[("exception", 10, {"exception.type": "GeneratorExit"})])
    else:
        call = _read({}, status=2, message="GeneratorExit()")
    assert call.consumer_closed is True


def test_an_ordinary_error_is_not_a_close():
    assert _read({"error.type": "APIConnectionError"}, status=2).consumer_closed is False


def test_semconv_response_time_to_first_chunk_attribute():
    call = _read({"gen_ai.response.time_to_first_chunk": 0.5})
    assert call.reported_ttft_s == 0.5


def test_older_semconv_usage_and_completion_attributes():
    call = _read({"gen_ai.usage.prompt_tokens": 7, "gen_ai.usage.completion_tokens": 3,
                  "gen_ai.completion.0.finish_reason": "length", "gen_ai.completion.0.content": "abc"})
    assert (call.record.input_tokens, call.record.output_tokens) == (7, 3)
    assert call.record.finish_reason == "length"
    assert call.completion_text == "abc"


def test_older_traceloop_attribute_and_event_names():
    span = make_span("openai.chat", {"gen_ai.system": "OpenAI", "llm.request.type": "chat", "llm.is_streaming": True,
                                     "gen_ai.request.model": "gpt-4"},
                     events=[("llm.content.completion.chunk", at, {}) for at in (300, 350, 340, 350)])
    call = read_llm_call(span, resource(), scope("opentelemetry.instrumentation.openai.v1"), select(["auto"]))
    assert call.record.convention == "openllmetry"
    assert (call.record.provider, call.record.operation) == ("openai", "chat")
    assert len(call.chunk_times) == 4  # as on the span: unsorted, duplicates kept for the processor to count
    assert call.chunk_times != sorted(call.chunk_times)
