"""Which keys are redacted, and how: the preset, allow/block lists, patterns, events, log bodies, summary."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.model.batch import Batch, Signal
from processor.processors.redaction.matcher import KeyMatcher
from processor.processors.redaction.values import HASH_PREFIX
from processor.service.telemetry import SelfTelemetry
from tests.processors.redaction.captures import CAPTURES, make_processor, redact


def span_batch(attributes: dict[str, str], *, events: dict[str, dict[str, str]] | None = None,
               resource: dict[str, str] | None = None) -> Batch:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (resource or {"service.name": "gateway"}).items():
        resource_spans.resource.attributes.add(key=key).value.string_value = value
    span = resource_spans.scope_spans.add().spans.add(name="chat gpt-4o-mini", trace_id=b"\1" * 16, span_id=b"\2" * 8)
    for key, value in attributes.items():
        span.attributes.add(key=key).value.string_value = value
    for name, event_attributes in (events or {}).items():
        event = span.events.add(name=name, time_unix_nano=5)
        for key, value in event_attributes.items():
            event.attributes.add(key=key).value.string_value = value
    return Batch(Signal.TRACES, request)


def the_span(batch: Batch):
    return batch.request.resource_spans[0].scope_spans[0].spans[0]


def keys(batch: Batch) -> list[str]:
    return [kv.key for kv in the_span(batch).attributes]


async def test_plain_spans_pass_byte_identical():
    batch = span_batch({"gen_ai.request.model": "gpt-4o-mini", "http.route": "/v1/chat"},
                       events={"gen_ai.content.completion.chunk": {}, "note": {"n": "1"}})
    before = batch.request.SerializeToString()
    assert (await redact(batch, summary=True, block_key_patterns=["secret"])).request.SerializeToString() == before


async def test_openllmetry_indexed_prompt_and_completion_attributes_are_dropped():
    batch = span_batch({"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "hi there",
                        "gen_ai.completion.0.content": "hello", "llm.prompts.0": "old style",
                        "gen_ai.request.model": "m"})
    assert keys(await redact(batch)) == ["gen_ai.request.model"]


async def test_span_event_attributes_of_content_events_are_dropped():
    batch = span_batch({}, events={"gen_ai.content.prompt": {"gen_ai.prompt": "the prompt"},
                                   "gen_ai.content.completion": {"gen_ai.completion": "the answer", "other": "x"}})
    events = the_span(await redact(batch)).events
    assert [e.name for e in events] == ["gen_ai.content.prompt", "gen_ai.content.completion"]
    assert [[kv.key for kv in e.attributes] for e in events] == [[], ["other"]]


async def test_allow_keys_keeps_a_listed_key_that_the_preset_would_redact():
    batch = span_batch({"gen_ai.system_instructions": "be terse", "gen_ai.input.messages": "[...]",
                        "llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "q"})
    kept = await redact(batch, allow_keys=["gen_ai.system_instructions", "llm.input_messages.0.message.role"])
    assert keys(kept) == ["gen_ai.system_instructions", "llm.input_messages.0.message.role"]


async def test_block_keys_and_prefixes_add_to_the_preset():
    batch = span_batch({"user.email": "a@b.c", "app.session.token": "t", "app.session.id": "s", "keep": "k"},
                       resource={"service.name": "gw", "host.name": "secret-host"})
    out = await redact(batch, block_keys=["user.email", "app.session.*", "host.name"])
    assert keys(out) == ["keep"]
    assert [kv.key for kv in out.request.resource_spans[0].resource.attributes] == ["service.name"]


async def test_block_key_patterns_are_searched_in_each_key():
    batch = span_batch({"x.api_key": "k", "X-Authorization": "Bearer t", "gen_ai.usage.input_tokens": "1"})
    out = await redact(batch, block_key_patterns=["api_key$", "(?i)authorization"])
    assert keys(out) == ["gen_ai.usage.input_tokens"]


async def test_preset_none_redacts_only_what_is_listed():
    batch = span_batch({"gen_ai.input.messages": "[...]", "gen_ai.headers": "{'Authorization': 'x'}"})
    assert keys(await redact(batch, preset="none", block_keys=["gen_ai.headers"])) == ["gen_ai.input.messages"]


async def test_hash_replaces_the_value_in_place_and_keeps_the_key(hash_key):
    batch = span_batch({"a": "1", "input.value": "the prompt", "b": "2"})
    span = the_span(await redact(batch, action="hash", hash_key_env=hash_key))
    assert [kv.key for kv in span.attributes] == ["a", "input.value", "b"]
    assert span.attributes[1].value.string_value.startswith(HASH_PREFIX)
    assert len(span.attributes[1].value.string_value) == len(HASH_PREFIX) + 64


async def test_a_different_key_gives_a_different_digest(monkeypatch, hash_key):
    first = the_span(await redact(span_batch({"input.value": "p"}), action="hash", hash_key_env=hash_key))
    monkeypatch.setenv(hash_key, "another-key-0123456789")
    second = the_span(await redact(span_batch({"input.value": "p"}), action="hash", hash_key_env=hash_key))
    assert first.attributes[0].value.string_value != second.attributes[0].value.string_value


async def test_summary_names_the_redacted_keys_and_counts_them():
    batch = span_batch({"input.value": "p", "output.value": "c", "keep": "k"},
                       events={"gen_ai.content.prompt": {"gen_ai.prompt": "p"}})
    attributes = {kv.key: kv.value for kv in the_span(await redact(batch, summary=True)).attributes}
    assert attributes["redaction.redacted.keys"].string_value == "gen_ai.prompt,input.value,output.value"
    assert attributes["redaction.redacted.count"].int_value == 3
    twice = await redact(await redact(span_batch({"input.value": "p"}), summary=True), summary=True)
    assert keys(twice) == ["redaction.redacted.keys", "redaction.redacted.count"]


def logs_batch(body: dict | str, *, event_name: str = "", attributes: dict[str, str] | None = None) -> Batch:
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add(event_name=event_name)
    for key, value in (attributes or {}).items():
        record.attributes.add(key=key).value.string_value = value
    _fill(record.body, body)
    return Batch(Signal.LOGS, request)


def _fill(value, python) -> None:
    if isinstance(python, dict):
        for key, item in python.items():
            _fill(value.kvlist_value.values.add(key=key).value, item)
    elif isinstance(python, list):
        value.array_value.SetInParent()
        for item in python:
            _fill(value.array_value.values.add(), item)
    else:
        value.string_value = python


def the_record(batch: Batch):
    return batch.request.resource_logs[0].scope_logs[0].log_records[0]


async def test_tool_call_arguments_in_a_choice_body_are_dropped_and_the_rest_kept():
    body = {"index": "0", "message": {"role": "assistant", "content": "text", "tool_calls": [
        {"id": "call_1", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}}
    out = the_record(await redact(logs_batch(body, event_name="gen_ai.choice"), summary=True))
    assert b"Paris" not in out.SerializeToString() and b"text" not in out.SerializeToString()
    assert b"get_weather" in out.SerializeToString() and b"assistant" in out.SerializeToString()
    summary = {kv.key: kv.value for kv in out.attributes}["redaction.redacted.keys"].string_value
    assert summary == "body.message.content,body.message.tool_calls.function.arguments"


async def test_old_sdks_name_the_event_in_an_attribute_and_a_text_body_is_redacted_whole():
    batch = logs_batch("the whole prompt", attributes={"event.name": "gen_ai.user.message"})
    record = the_record(await redact(batch))
    assert not record.HasField("body") and [kv.key for kv in record.attributes] == ["event.name"]


async def test_bodies_of_log_records_that_are_not_genai_events_are_left_alone():
    batch = logs_batch({"content": "an ordinary app log"}, event_name="app.audit")
    before = batch.request.SerializeToString()
    assert (await redact(batch)).request.SerializeToString() == before


async def test_the_resolved_matcher_is_exposed_and_counts_reach_self_telemetry():
    telemetry = SelfTelemetry()
    processor = make_processor(block_keys=["user.email"], allow_keys=["output.value"], telemetry=telemetry)
    assert isinstance(processor.matcher, KeyMatcher)
    assert processor.matcher("user.email") and processor.matcher("llm.input_messages.3.message.content")
    assert not processor.matcher("output.value") and not processor.matcher("gen_ai.usage.input_tokens")
    capture = next(c for c in CAPTURES if c.name == "traces-oi-001")
    await processor.consume(capture.batch())
    counted = telemetry.registry.get_sample_value("tokenstream_redaction_redacted_values_total",
                                                  {"processor": "redaction", "signal": "traces", "action": "drop"})
    assert counted == 7  # input.value, 4 llm.input_messages.*, 2 llm.output_messages.*; output.value is allowed


def test_streamed_chunk_text_is_redacted_too():
    """LangChain's new_token events carry each token as `token`; chunk events may carry text as well."""
    processor = make_processor()
    for key in ("token", "gen_ai.completion.chunk", "gen_ai.chunk.text", "gen_ai.completion.delta"):
        assert processor.matcher(key), key
    assert not processor.matcher("gen_ai.usage.output_tokens")
