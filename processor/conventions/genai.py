"""The `gen_ai.*` span attributes several conventions share (semconv old and new, Traceloop, OpenLIT, LangChain)."""

from __future__ import annotations

from processor.conventions.base import LlmCall
from processor.conventions.common import set_label, set_tokens
from processor.conventions.finish import first_reason, normalise
from processor.conventions.messages import parse_messages, text_and_finish
from processor.model.otlp_attrs import AttrMap, first_int, first_str, get_str_list

PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system")
OPERATION_KEYS = ("gen_ai.operation.name", "llm.request.type")  # the second: older Traceloop
INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
#: Operations whose spans carry gen_ai.* but are not a model generating output.
NOT_GENERATION = frozenset({"embeddings", "embedding", "execute_tool", "invoke_agent", "create_agent",
                            "invoke_workflow", "retrieval", "rerank", "agent_step"})


def operation(attrs: AttrMap) -> str | None:
    return first_str(attrs, OPERATION_KEYS)


def is_generation(attrs: AttrMap) -> bool:
    return operation(attrs) not in NOT_GENERATION


def provider(attrs: AttrMap) -> str | None:
    name = first_str(attrs, PROVIDER_KEYS)
    return name.lower() if name else None


def fill_gen_ai(call: LlmCall, attrs: AttrMap) -> None:
    """Labels, usage, finish reason, completion text and response id from gen_ai.* attributes."""
    record = call.record
    set_label(record, "provider", provider(attrs))
    set_label(record, "request_model", first_str(attrs, ("gen_ai.request.model",)))
    set_label(record, "response_model", first_str(attrs, ("gen_ai.response.model",)))
    set_label(record, "operation", operation(attrs))
    set_tokens(record, first_int(attrs, INPUT_TOKEN_KEYS), first_int(attrs, OUTPUT_TOKEN_KEYS))
    text, message_reason = text_and_finish(parse_messages(attrs.get("gen_ai.output.messages")))
    reason = (first_reason(get_str_list(attrs, "gen_ai.response.finish_reasons")) or message_reason
              or normalise(first_str(attrs, ("gen_ai.completion.0.finish_reason",))))
    set_label(record, "finish_reason", reason)
    call.completion_text = text if text is not None else first_str(attrs, ("gen_ai.completion.0.content",))
    call.request_id = first_str(attrs, ("gen_ai.response.id",))
