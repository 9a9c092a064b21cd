"""MLflow tracing (`mlflow-tracing`, `mlflow.openai.autolog()`, OTLP export): one event per chunk, with the chunk.

As captured (mlflow-tracing 3.17.2, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set): an INTERNAL span `Completions`, scope
`mlflow.tracing.provider`, resource `telemetry.sdk.name=mlflow`. By default MLflow keeps a TracerProvider and a
context of its own, so a bare call's span roots a trace of its own (no parent, not the app's OTel trace). An app that
wraps its function in MLflow's tracing (`@mlflow.trace`, `mlflow.start_span`) gets that span (`mlflow.spanType`
`"UNKNOWN"`, no chunk events) as the root and its calls as children: an app-level retry's attempts are then siblings
under one parent in one trace, a retry chain as any other library's. Every attribute value is JSON text:
`mlflow.spanType` `"CHAT_MODEL"`, `mlflow.spanInputs` (the request: model, `stream`, `max_tokens`),
`mlflow.spanOutputs` (the completion rebuilt from the chunks, with usage and a `finish_reason` that is `"stop"`
whatever ended the stream: the finish chunk's own is read instead),
`mlflow.chat.tokenUsage`, `mlflow.llm.model`. Each chunk the app pulled is a span event `mlflow.chunk.item.<n>`
whose `mlflow.chunk.value` is the chunk's JSON: the role chunk, every content chunk, the finish chunk and the
usage chunk, at the time the app got them. That is full cadence, and the last chunks give the finish reason when
the span has no outputs.
"""

from __future__ import annotations

import json
from typing import Any

from processor.conventions.base import LlmCall
from processor.conventions.common import SpanConvention, new_call, set_label, set_tokens
from processor.conventions.finish import normalise
from processor.conventions.span import LlmSpan
from processor.model.otlp_attrs import AttrMap, get_str

CHUNK_EVENT_PREFIX = "mlflow.chunk.item."
CHUNK_VALUE = "mlflow.chunk.value"
_LLM_SPAN_TYPES = frozenset({"CHAT_MODEL", "LLM"})
_MAX_TOKENS_KEYS = ("max_completion_tokens", "max_tokens")


class Mlflow(SpanConvention):
    name = "mlflow"

    def read_span(self, span: LlmSpan) -> LlmCall | None:
        attrs = span.attributes
        if _json(attrs, "mlflow.spanType") not in _LLM_SPAN_TYPES:
            return None
        chunk_events = span.positions_of(name for name in span.event_positions if name.startswith(CHUNK_EVENT_PREFIX))
        call = new_call(span, self.name)
        record = call.record
        inputs = _json(attrs, "mlflow.spanInputs")
        inputs = inputs if isinstance(inputs, dict) else {}
        stream = _json(attrs, "stream")
        call.streaming = True if chunk_events else (stream if isinstance(stream, bool) else inputs.get("stream"))
        call.chunk_times = span.times_of(name for name in span.event_times if name.startswith(CHUNK_EVENT_PREFIX))
        record.operation = "chat"
        set_label(record, "provider", _json(attrs, "mlflow.message.format") or None)
        model = _json(attrs, "mlflow.llm.model") or inputs.get("model")
        set_label(record, "request_model", model if isinstance(model, str) else None)
        call.max_output_tokens = next((inputs[k] for k in _MAX_TOKENS_KEYS if isinstance(inputs.get(k), int)), None)
        outputs = _json(attrs, "mlflow.spanOutputs")
        _fill_outputs(call, outputs if isinstance(outputs, dict) else {})
        if chunk_events:  # the completion in spanOutputs is rebuilt with "stop" whatever ended the stream
            record.ClearField("finish_reason")
            _fill_outputs(call, _last_chunks(span, chunk_events), text=False)
        usage = _json(attrs, "mlflow.chat.tokenUsage")
        if isinstance(usage, dict):
            set_tokens(record, _int(usage.get("input_tokens")), _int(usage.get("output_tokens")))
        return call


def _fill_outputs(call: LlmCall, outputs: dict, *, text: bool = True) -> None:
    """The finish reason, text, response model and id of a completion (`mlflow.spanOutputs`, or the last chunks)."""
    record = call.record
    set_label(record, "response_model", outputs.get("model") if isinstance(outputs.get("model"), str) else None)
    if isinstance(outputs.get("id"), str):
        call.request_id = outputs["id"]
    choices = outputs.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    reason = choice.get("finish_reason")
    set_label(record, "finish_reason", normalise(reason) if isinstance(reason, str) else None)
    message = choice.get("message")
    if text and isinstance(message, dict) and isinstance(message.get("content"), str):
        call.completion_text = message["content"]


def _last_chunks(span: LlmSpan, positions: list[int]) -> dict:
    """What the last chunks (events at `positions`) say: the finish reason (none when no finish chunk came), model
    and id."""
    found: dict = {}
    for position in reversed(positions[-3:]):  # finish chunk, then the usage chunk: the last two or three
        chunk = _decode(get_str(span.event_attributes(position), CHUNK_VALUE))
        if not isinstance(chunk, dict):
            continue
        for key in ("model", "id"):
            found.setdefault(key, chunk.get(key))
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("finish_reason"):
                found.setdefault("choices", [{"finish_reason": choice["finish_reason"]}])
    return found


def _json(attrs: AttrMap, key: str) -> Any:
    return _decode(get_str(attrs, key))


def _decode(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
