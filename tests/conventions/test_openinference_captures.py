from __future__ import annotations

import pytest

from processor.conventions.base import SpanStatus
from tests.conventions.captured import MS, field, read_capture

# scenario -> (streaming, first-token event, finish_reason, input/output tokens, status, error_type)
EXPECTED = {
    "normal": (True, True, "stop", (19, 12), SpanStatus.OK, None),
    "stall": (True, True, "stop", (19, 12), SpanStatus.OK, None),
    "length": (True, True, "length", (19, 8), SpanStatus.OK, None),
    "cutoff": (True, True, None, (None, None), SpanStatus.ERROR, "APIConnectionError"),
    # closed by the app: UNSET, which this convention uses to mean "not completed"
    "client_cancel": (True, True, None, (None, None), SpanStatus.UNSET, None),
    "nonstream": (False, False, "stop", (19, 12), SpanStatus.OK, None),
    "http_500": (True, False, None, (None, None), SpanStatus.ERROR, "InternalServerError"),
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_openinference_span_reads_as_call(scenario):
    streaming, first_token, finish, (tokens_in, tokens_out), status, error = EXPECTED[scenario]
    read = read_capture("oi", scenario)
    call, record = read.call, read.call.record
    assert read.span.name == "ChatCompletion"
    assert record.convention == "openinference"
    assert call.streaming is streaming
    assert (call.first_token_time is not None) is first_token
    assert call.chunk_times == []
    assert field(record, "finish_reason") == finish
    assert (field(record, "input_tokens"), field(record, "output_tokens")) == (tokens_in, tokens_out)
    assert call.status is status
    assert field(record, "error_type") == error
    assert call.unset_means_incomplete is True
    assert call.consumer_closed is False
    assert (record.provider, record.request_model, record.operation) == ("openai", "gpt-4o-mini", "chat")
    assert record.service == "realclients-oi"


@pytest.mark.parametrize("scenario", ["normal", "stall", "length", "cutoff", "client_cancel"])
def test_first_token_event_is_at_the_apps_first_chunk(scenario):
    read = read_capture("oi", scenario)
    assert abs(read.call.first_token_time - read.client_first_chunk()) < 10 * MS


def test_response_model_and_completion_text():
    call = read_capture("oi", "client_cancel").call
    assert call.record.response_model == "gpt-4o-mini-2024-07-18"
    assert call.completion_text == "Streaming tokens arrive one"
