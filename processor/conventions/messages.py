"""Output messages (`gen_ai.output.messages`, `gen_ai.choice` bodies) and the gen_ai log records joined to a span.

openai-v2 keeps a stream's finish reason only there: in the `gen_ai.choice` log body (default mode) or in
`gen_ai.output.messages` of `gen_ai.client.inference.operation.details` (latest-experimental mode).
"""

from __future__ import annotations

import json
from typing import Any

from processor.conventions.base import LlmCall
from processor.conventions.finish import first_reason, normalise
from processor.model.otlp_attrs import as_int, as_str, as_str_list, attr_map, plain, to_python

CHOICE_EVENT = "gen_ai.choice"


def parse_messages(value: Any | None) -> list[dict]:
    """Messages from a value (plain, or an AnyValue) that is a JSON string (span attributes) or an array of kvlists
    (log records)."""
    value = plain(value)
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return []
    elif isinstance(value, list | dict):
        decoded = value
    else:
        return []
    if isinstance(decoded, dict):
        decoded = [decoded]
    return [m for m in decoded if isinstance(m, dict)] if isinstance(decoded, list) else []


def text_and_finish(messages: list[dict]) -> tuple[str | None, str | None]:
    """The text parts of the messages joined, and the first finish reason, normalised."""
    texts: list[str] = []
    for message in messages:
        for part in message.get("parts") or ():
            if isinstance(part, dict) and part.get("type", "text") == "text" and isinstance(part.get("content"), str):
                texts.append(part["content"])
        if isinstance(message.get("content"), str):  # the older `{"role", "content"}` shape
            texts.append(message["content"])
    reason = first_reason(m.get("finish_reason") for m in messages if isinstance(m.get("finish_reason"), str))
    return ("".join(texts) if texts else None), reason


def event_name(log: Any) -> str:
    if log.event_name:
        return log.event_name
    for kv in log.attributes:  # before the LogRecord event_name field, SDKs used this attribute
        if kv.key == "event.name":
            return kv.value.string_value
    return ""


def join_gen_ai_log(call: LlmCall, log: Any) -> None:
    """Fold a gen_ai log record into the call. The span's own values win: only what is missing is filled."""
    name = event_name(log)
    if name == CHOICE_EVENT:
        _join_choice(call, to_python(log.body) if log.body.WhichOneof("value") == "kvlist_value" else _json(log))
    elif name.startswith("gen_ai."):
        _join_details(call, attr_map(log.attributes))


def _json(log: Any) -> Any:
    text = as_str(log.body)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _join_choice(call: LlmCall, body: Any) -> None:
    if not isinstance(body, dict):
        return
    record = call.record
    reason = normalise(body.get("finish_reason")) if isinstance(body.get("finish_reason"), str) else None
    if reason and not record.HasField("finish_reason"):
        record.finish_reason = reason
    message = body.get("message")
    if call.completion_text is None and isinstance(message, dict) and isinstance(message.get("content"), str):
        call.completion_text = message["content"]


def _join_details(call: LlmCall, attrs: dict[str, Any]) -> None:
    record = call.record
    text, reason = text_and_finish(parse_messages(attrs.get("gen_ai.output.messages")))
    reason = first_reason(as_str_list(attrs.get("gen_ai.response.finish_reasons"))) or reason
    if reason and not record.HasField("finish_reason"):
        record.finish_reason = reason
    if text is not None and call.completion_text is None:
        call.completion_text = text
    for field, key in (("input_tokens", "gen_ai.usage.input_tokens"), ("output_tokens", "gen_ai.usage.output_tokens")):
        value = as_int(attrs.get(key))
        if value is not None and value >= 0 and not record.HasField(field):
            setattr(record, field, value)
    for field, key in (("response_model", "gen_ai.response.model"), ("error_type", "error.type")):
        value = as_str(attrs.get(key))
        if value and not record.HasField(field):
            setattr(record, field, value)
