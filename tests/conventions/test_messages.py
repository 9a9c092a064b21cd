from __future__ import annotations

import json

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from processor.conventions.base import LlmCall
from processor.conventions.messages import join_gen_ai_log, parse_messages, text_and_finish
from processor.model.records import StreamRecord
from tests.conventions.spans import any_value, attributes


def _call(**fields) -> LlmCall:
    return LlmCall(record=StreamRecord(**fields))


def test_messages_from_a_json_string_and_from_an_array_value_read_the_same():
    messages = [{"role": "assistant", "parts": [{"type": "text", "content": "Hel"}, {"type": "text", "content": "lo"},
                                                 {"type": "tool_call", "name": "f"}], "finish_reason": "tool_call"}]
    as_string = parse_messages(AnyValue(string_value=json.dumps(messages)))
    assert text_and_finish(as_string) == ("Hello", "tool_calls")
    structured = AnyValue(array_value={"values": [AnyValue(kvlist_value=KeyValueList(values=[
        KeyValue(key="role", value=any_value("assistant")),
        KeyValue(key="parts", value=AnyValue(array_value={"values": [AnyValue(kvlist_value=KeyValueList(values=[
            KeyValue(key="type", value=any_value("text")), KeyValue(key="content", value=any_value("Hello"))]))]})),
        KeyValue(key="finish_reason", value=any_value("tool_call")),
    ]))]})
    assert text_and_finish(parse_messages(structured)) == ("Hello", "tool_calls")


def test_bad_or_missing_messages_read_as_none():
    assert parse_messages(AnyValue(string_value="not json")) == []
    assert parse_messages(None) == []
    assert text_and_finish([]) == (None, None)


def test_details_log_fills_only_what_the_span_did_not_have():
    log = LogRecord(event_name="gen_ai.client.inference.operation.details")
    log.attributes.extend(attributes({"gen_ai.response.finish_reasons": ["length"], "gen_ai.usage.input_tokens": 5,
                                      "gen_ai.usage.output_tokens": 8, "gen_ai.response.model": "m-2"}))
    call = _call(output_tokens=9, response_model="m-1")
    join_gen_ai_log(call, log)
    assert call.record.finish_reason == "length"
    assert (call.record.input_tokens, call.record.output_tokens, call.record.response_model) == (5, 9, "m-1")


def test_choice_log_with_json_string_body_and_event_name_attribute():
    log = LogRecord(body=AnyValue(string_value=json.dumps({"finish_reason": "stop", "message": {"content": "hi"}})))
    log.attributes.extend(attributes({"event.name": "gen_ai.choice"}))
    call = _call()
    join_gen_ai_log(call, log)
    assert (call.record.finish_reason, call.completion_text) == ("stop", "hi")


def test_input_message_logs_change_nothing():
    log = LogRecord(event_name="gen_ai.user.message", body=AnyValue(string_value='{"content": "question"}'))
    call = _call()
    join_gen_ai_log(call, log)
    assert call.completion_text is None and not call.record.HasField("finish_reason")
