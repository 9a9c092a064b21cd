"""The `genai_content` preset: where each instrumentation puts prompt and completion text.

Taken from real captures (fixtures/realclients/CONVENTIONS.md) and the producers' sources. An entry ending in
`.*` covers every key under that prefix (OpenInference and old OpenLLMetry index messages: `llm.input_messages.0.
message.content`, `gen_ai.prompt.0.content`).
"""

from __future__ import annotations

GENAI_CONTENT_KEYS: tuple[str, ...] = (
    # OTel GenAI semantic conventions (current): span and log-record attributes, and span-event attributes
    # of the older `gen_ai.content.prompt` / `gen_ai.content.completion` events.
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.prompt",
    "gen_ai.completion",
    # OpenLLMetry (Traceloop): indexed prompt/completion attributes, workflow payloads, and the request
    # headers it leaks (API keys travel there).
    "gen_ai.prompt.*",
    "gen_ai.completion.*",
    "gen_ai.headers",
    "traceloop.entity.input",
    "traceloop.entity.output",
    # OpenInference (Arize)
    "input.value",
    "output.value",
    "llm.input_messages.*",
    "llm.output_messages.*",
    "llm.prompts.*",
    "llm.prompt_template.variables",
    # Vercel AI SDK
    "ai.prompt",
    "ai.prompt.messages",
    "ai.response.text",
    "ai.response.reasoning",
    "ai.response.object",
    "ai.response.toolCalls",
    "ai.toolCall.args",
    "ai.toolCall.result",
    # LangChain's `new_token` events, and chunk events that carry their text (stream's content_check reads both).
    "token",
    "gen_ai.chunk.text",
    "gen_ai.completion.delta",
)

#: Fields of a `gen_ai.*` log record body that hold text, at any depth: `content` of `gen_ai.user.message`,
#: `message.content` of `gen_ai.choice`, `message.tool_calls[].function.arguments`.
GENAI_BODY_CONTENT_FIELDS: frozenset[str] = frozenset({"content", "arguments"})

#: Log records whose body is searched: the GenAI events, named by `event_name` or, from older SDKs, the
#: `event.name` attribute.
GENAI_EVENT_PREFIX = "gen_ai."
