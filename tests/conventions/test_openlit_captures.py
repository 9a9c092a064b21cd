from __future__ import annotations

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue

from processor.conventions import read_llm_call, select
from processor.conventions.base import SpanStatus, TtftClock
from tests.conventions.captured import MS, field, read_capture

# scenario -> (streaming, finish_reason, input/output tokens, status, error_type)
EXPECTED = {
    "normal": (True, "stop", (19, 12), SpanStatus.OK, None),
    "stall": (True, "stop", (19, 12), SpanStatus.OK, None),
    "length": (True, "length", (19, 8), SpanStatus.OK, None),
    "nonstream": (False, "stop", (19, 12), SpanStatus.OK, None),
    "http_500": (True, None, (None, None), SpanStatus.ERROR, "InternalServerError"),
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_openlit_span_reads_as_call(scenario):
    streaming, finish, (tokens_in, tokens_out), status, error = EXPECTED[scenario]
    read = read_capture("openlit", scenario)
    call, record = read.call, read.call.record
    assert record.convention == "openlit"
    assert call.streaming is streaming
    assert call.ttft_clock is TtftClock.AFTER_HEADERS
    assert field(record, "finish_reason") == finish
    assert (field(record, "input_tokens"), field(record, "output_tokens")) == (tokens_in, tokens_out)
    assert call.usage_estimated is False  # the stream carried usage
    assert call.status is status
    assert field(record, "error_type") == error
    assert (record.provider, record.request_model, record.operation) == ("openai", "gpt-4o-mini", "chat")
    assert sorted(span.name for span in read.skipped) == ["POST", "harness.scenario"]


@pytest.mark.parametrize("scenario", ["normal", "stall", "length"])
def test_reported_ttft_counts_from_after_the_headers(scenario):
    read = read_capture("openlit", scenario)
    call = read.call
    headers_in = read.capture.client("create_returned")[0]["t_unix_nano"]
    assert abs(headers_in + call.reported_ttft_s * 1e9 - read.client_first_chunk()) < 10 * MS
    if scenario == "stall":
        assert call.reported_tpot_s > 0.06  # the 1.5 s gap is in its average
    else:
        assert 0.04 < call.reported_tpot_s < 0.06


@pytest.mark.parametrize("scenario", ["cutoff", "client_cancel"])
def test_failed_or_closed_stream_has_no_llm_span_only_http_and_harness(scenario):
    read = read_capture("openlit", scenario)
    assert read.calls == []
    assert sorted(span.name for span in read.skipped) == ["POST", "harness.scenario"]


def _normal_span():
    read = read_capture("openlit", "normal")
    return read.span, *next((r, s) for sp, r, s in read.capture.spans() if sp.span_id == read.span.span_id)


def test_counts_without_the_real_usage_detail_keys_are_openlits_estimate():
    span, resource, scope = _normal_span()
    kept = [kv for kv in span.attributes if not kv.key.startswith("gen_ai.usage.cache_")]
    del span.attributes[:]
    span.attributes.extend(kept)
    call = read_llm_call(span, resource, scope, select(["openlit"]))
    assert call.usage_estimated is True
    assert call.record.output_tokens == 12


def test_empty_finish_reason_means_none():
    span, resource, scope = _normal_span()
    for kv in span.attributes:
        if kv.key in ("gen_ai.response.finish_reasons", "gen_ai.output.messages"):
            kv.value.CopyFrom(AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="")])))
    call = read_llm_call(span, resource, scope, select(["openlit"]))
    assert not call.record.HasField("finish_reason")
