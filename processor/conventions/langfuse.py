"""Langfuse Python SDK (5.x, OTel-based) with its OpenAI integration (`from langfuse.openai import openai`).

As captured (langfuse 5.2.0, its own OTLP/HTTP exporter): an INTERNAL span `OpenAI-generation`, scope
`langfuse-sdk`, `langfuse.observation.type=generation`, no `gen_ai.*`. Values are JSON text:
`langfuse.observation.completion_start_time` (ISO 8601, microseconds: when the first chunk arrived, within a
millisecond of the app's clock), `model.name`, `model.parameters` (`max_tokens`, ...), `usage_details`,
`metadata.finish_reason`, `output`. The span starts at `create()`.

A mid-stream drop, a clean early end and a stream the app closes are exported the same way: status UNSET, a
completion start time, no finish reason, no usage. So each reads as a cut-off (`truncated`/`cutoff`) whose
`ambiguous_outcome` is `aborted`. An SDK retry inside `create()` is not visible.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from processor.conventions.base import LlmCall
from processor.conventions.common import SpanConvention, new_call, set_label, set_tokens
from processor.conventions.finish import normalise
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import AttrMap, get_str

PREFIX = "langfuse.observation."
_GENERATION = "generation"
#: A dropped, an early-ended and a closed stream all end UNSET without finish reason or usage.
LOOKALIKES = {"truncated/cutoff": "aborted"}


class Langfuse(SpanConvention):
    name = "langfuse"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        if get_str(attrs, PREFIX + "type") != _GENERATION:
            return None
        call = new_call(span, self.name)
        record = call.record
        first_chunk = _time(_json(attrs, PREFIX + "completion_start_time"))
        call.first_token_time = first_chunk
        params = _json(attrs, PREFIX + "model.parameters")
        params = params if isinstance(params, dict) else {}
        stream = params.get("stream")
        call.streaming = True if first_chunk is not None else (stream if isinstance(stream, bool) else None)
        model = get_str(attrs, PREFIX + "model.name")
        set_label(record, "request_model", model)
        set_label(record, "provider", "openai" if span.name.startswith("OpenAI") else None)
        record.operation = "chat"
        usage = _json(attrs, PREFIX + "usage_details")
        if isinstance(usage, dict):
            set_tokens(record, _int(usage.get("prompt_tokens", usage.get("input"))),
                       _int(usage.get("completion_tokens", usage.get("output"))))
        reason = _json(attrs, PREFIX + "metadata.finish_reason")
        set_label(record, "finish_reason", normalise(reason) if isinstance(reason, str) else None)
        limit = params.get("max_tokens") or params.get("max_completion_tokens")
        call.max_output_tokens = limit if isinstance(limit, int) else None
        output = get_str(attrs, PREFIX + "output")
        call.completion_text = output
        call.lookalikes = LOOKALIKES
        return call


def _json(attrs: AttrMap, key: str) -> Any:
    text = get_str(attrs, key)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text  # some values are plain strings


def _time(value: Any) -> int | None:
    """`2026-12-01T20:48:50.375923Z` -> unix ns."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    seconds = int(moment.timestamp())
    return seconds * 1_000_000_000 + moment.microsecond * 1_000


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
