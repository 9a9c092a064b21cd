from __future__ import annotations

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from processor.conventions import read_llm_call, select
from processor.conventions.base import TtftClock
from tests.conventions.spans import MS, T0, make_span, resource, scope

LLM_REQUEST = {
    "gen_ai.response.model": "meta-llama/Llama-3.1-8B-Instruct",
    "gen_ai.request.id": "chatcmpl-7f1c",
    "gen_ai.request.temperature": 0.2,
    "gen_ai.request.top_p": 1.0,
    "gen_ai.request.max_tokens": 256,
    "gen_ai.request.n": 1,
    "gen_ai.usage.num_sequences": 1,
    "gen_ai.usage.prompt_tokens": 117,
    "gen_ai.usage.completion_tokens": 256,
    "gen_ai.latency.time_in_queue": 0.031,
    "gen_ai.latency.time_to_first_token": 0.184,
    "gen_ai.latency.e2e": 3.02,
    "gen_ai.latency.time_in_model_prefill": 0.15,
    "gen_ai.latency.time_in_model_decode": 2.8,
}


def test_vllm_request_span_reads_server_side_latencies():
    span = make_span("llm_request", LLM_REQUEST, kind=Span.SPAN_KIND_SERVER, duration_ms=3020)
    call = read_llm_call(span, resource("vllm-serve"), scope("vllm.llm_engine"), select(["auto"]))
    record = call.record
    assert record.convention == "vllm"
    assert call.reported_ttft_s == 0.184
    assert call.ttft_clock is TtftClock.SERVER_QUEUE
    assert call.reported_duration_s == 3.02
    assert call.server_queue_s == 0.031
    assert call.request_id == "chatcmpl-7f1c"
    assert (record.input_tokens, record.output_tokens) == (117, 256)
    assert record.provider == "vllm"
    assert record.response_model == "meta-llama/Llama-3.1-8B-Instruct"
    assert not record.HasField("request_model")
    assert call.streaming is None  # the engine's span does not say
    assert (record.start_time_unix_nano, record.end_time_unix_nano) == (T0, T0 + 3020 * MS)
    assert record.service == "vllm-serve"


def test_vllm_is_read_before_the_generic_semconv_reader():
    span = make_span("llm_request", {**LLM_REQUEST, "gen_ai.system": "vllm", "gen_ai.operation.name": "chat"},
                     kind=Span.SPAN_KIND_SERVER)
    call = read_llm_call(span, resource(), scope(), select(["genai_semconv", "vllm"]))
    assert call.record.convention == "vllm"
    assert call.record.operation == "chat"


def test_only_the_e2e_latency_is_enough_to_recognise_it():
    attrs = {k: v for k, v in LLM_REQUEST.items() if k != "gen_ai.latency.time_to_first_token"}
    call = read_llm_call(make_span("llm_request", attrs), resource(), scope(), select(["vllm"]))
    assert call.reported_ttft_s is None and call.reported_duration_s == 3.02
