from __future__ import annotations

import pytest

from processor.conventions.base import SpanStatus
from tests.conventions.captured import MS, field, read_capture

# scenario -> (finish_reason, input/output tokens, status, error_type)
EXPECTED = {
    "normal": ("stop", (19, 12), SpanStatus.UNSET, None),
    "stall": ("stop", (19, 12), SpanStatus.UNSET, None),
    "length": ("length", (19, 8), SpanStatus.UNSET, None),
    "cutoff": (None, (None, None), SpanStatus.ERROR, "APIConnectionError"),  # "error" in the messages: none
    "client_cancel": (None, (None, None), SpanStatus.UNSET, None),
    "nonstream": ("stop", (19, 12), SpanStatus.UNSET, None),
    "http_500": (None, (None, None), SpanStatus.ERROR, "InternalServerError"),
}


@pytest.mark.parametrize("lib", ["v2", "v2_latest"])
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_openai_v2_span_reads_as_semconv_call(lib, scenario):
    finish, (tokens_in, tokens_out), status, error = EXPECTED[scenario]
    read = read_capture(lib, scenario)
    call, record = read.call, read.call.record
    assert read.span.name == "chat gpt-4o-mini"
    assert record.convention == "genai_semconv"
    assert call.streaming is None  # openai-v2 2.4b0 writes no stream flag
    assert call.reported_ttft_s is None and call.chunk_times == [] and call.first_token_time is None
    assert field(record, "finish_reason") == finish
    assert (field(record, "input_tokens"), field(record, "output_tokens")) == (tokens_in, tokens_out)
    assert call.status is status
    assert field(record, "error_type") == error
    assert call.unset_means_incomplete is False  # UNSET is also how it ends a completed stream
    assert (record.provider, record.request_model, record.operation) == ("openai", "gpt-4o-mini", "chat")
    assert abs(record.start_time_unix_nano - read.capture.client("create_called")[0]["t_unix_nano"]) < 10 * MS


@pytest.mark.parametrize("scenario", ["normal", "stall", "length"])
def test_default_mode_streams_finish_reason_is_only_in_the_choice_log(scenario):
    read = read_capture("v2", scenario)
    keys = {kv.key for kv in read.span.attributes}
    assert "gen_ai.response.finish_reasons" not in keys  # the openai-v2 bug this join works around
    assert read.call.record.HasField("finish_reason")


def test_latest_mode_reads_finish_reason_and_text_from_output_messages_on_the_span():
    call = read_capture("v2_latest", "cutoff").call
    assert call.completion_text == "Streaming tokens arrive one by"
    assert not call.record.HasField("finish_reason")


def test_default_mode_text_comes_from_the_choice_log():
    assert read_capture("v2", "client_cancel").call.completion_text == "Streaming tokens arrive one"
