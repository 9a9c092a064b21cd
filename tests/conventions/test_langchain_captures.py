from __future__ import annotations

import pytest

from processor.conventions.base import SpanStatus
from tests.conventions.captured import field, read_capture

# scenario -> (finish_reason, input/output tokens, error_type, consumer_closed)
EXPECTED = {
    "normal": ("stop", (19, 12), None, False),
    "stall": ("stop", (19, 12), None, False),
    "length": ("length", (19, 8), None, False),
    "cutoff": (None, (None, None), "OpenAIConnectionError", False),
    "client_cancel": (None, (None, None), "GeneratorExit", True),
    "nonstream": ("stop", (19, 12), None, False),
}
# OpenInference's tracer says OK on success, Traceloop's leaves UNSET; both say ERROR on failure and on close.
OK_STATUS = {"lc_oi": SpanStatus.OK, "lc_tl": SpanStatus.UNSET}
SPAN_NAME = {"lc_oi": "ChatOpenAI", "lc_tl": "ChatOpenAI.chat"}


@pytest.mark.parametrize("lib", ["lc_oi", "lc_tl"])
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_langchain_span_reads_as_langchain_call(lib, scenario):
    finish, (tokens_in, tokens_out), error, closed = EXPECTED[scenario]
    read = read_capture(lib, scenario)
    call, record = read.call, read.call.record
    assert read.span.name == SPAN_NAME[lib]
    assert record.convention == "langchain"  # before openinference / genai_semconv, which would also match
    assert field(record, "finish_reason") == finish
    assert (field(record, "input_tokens"), field(record, "output_tokens")) == (tokens_in, tokens_out)
    assert call.status is (SpanStatus.ERROR if error else OK_STATUS[lib])
    assert field(record, "error_type") == error
    assert call.consumer_closed is closed
    assert (record.provider, record.request_model, record.operation) == ("openai", "gpt-4o-mini", "chat")


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_openinference_tracer_streaming_told_by_generation_chunks(scenario):
    # its invocation parameters say "stream": false even for ChatOpenAI.stream()
    assert read_capture("lc_oi", scenario).call.streaming is (scenario != "nonstream")


@pytest.mark.parametrize(("scenario", "streaming"), [
    ("normal", True), ("stall", True), ("length", True), ("nonstream", False),
    ("cutoff", None), ("client_cancel", None),  # no output message and no response id: it cannot tell
])
def test_traceloop_tracer_streaming_told_by_output_role_and_response_id(scenario, streaming):
    assert read_capture("lc_tl", scenario).call.streaming is streaming


def test_generator_exit_in_status_message_and_exception_event_means_consumer_closed():
    read = read_capture("lc_oi", "client_cancel")
    assert read.call.status_message.startswith("GeneratorExit()")
    assert [kv.value.string_value for e in read.span.events for kv in e.attributes
            if kv.key == "exception.type"] == ["GeneratorExit"]
    assert read.call.consumer_closed is True


def test_only_the_langchain_layer_was_captured_and_the_harness_span_is_skipped():
    read = read_capture("lc_tl", "normal")
    assert [span.name for span in read.skipped] == ["harness.scenario"]
