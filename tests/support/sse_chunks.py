"""Payloads in the real OpenAI `chat.completion.chunk` / `chat.completion` shapes, as the scripted server sends them."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

WORDS = ("Streaming", " tokens", " arrive", " one", " by", " one", " ,", " and", " each", " chunk", " carries", " a")
TOOL_ARGS = '{"location": "Paris, France", "unit": "celsius", "detail": "hourly"}'
PROMPT_TOKENS = 19
SYSTEM_FINGERPRINT = "fp_tokenstream"


def content_piece(index: int) -> str:
    """The text of content chunk `index` (0-based); the word list repeats for long streams."""
    return WORDS[index % len(WORDS)]


def tool_arg_piece(index: int, total: int) -> str:
    """Fragment `index` of the tool-call arguments split into `total` pieces (the last takes the rest)."""
    size = max(1, len(TOOL_ARGS) // max(total, 1))
    return TOOL_ARGS[index * size :] if index == total - 1 else TOOL_ARGS[index * size : (index + 1) * size]


class ChunkFactory:
    """Builds the chunks of one streamed completion, all sharing an id, model and creation time."""

    def __init__(self, model: str, *, include_usage: bool, obfuscation: bool) -> None:
        self.completion_id = f"chatcmpl-{secrets.token_hex(12)}"
        self.model = model
        self.created = int(time.time())
        self.include_usage = include_usage
        self.obfuscation = obfuscation

    def _chunk(self, choices: list[dict[str, Any]], *, usage: dict[str, Any] | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if self.include_usage:
            chunk["usage"] = usage
        if self.obfuscation:
            chunk["obfuscation"] = secrets.token_urlsafe(6)
        return chunk

    def _delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return self._chunk([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])

    def role(self, *, tool_call: bool) -> dict[str, Any]:
        if not tool_call:
            return self._delta({"role": "assistant", "content": "", "refusal": None})
        call = {"index": 0, "id": f"call_{secrets.token_hex(8)}", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}
        return self._delta({"role": "assistant", "content": None, "tool_calls": [call], "refusal": None})

    def content(self, index: int, total: int, *, tool_call: bool) -> dict[str, Any]:
        if tool_call:
            return self._delta({"tool_calls": [{"index": 0, "function": {"arguments": tool_arg_piece(index, total)}}]})
        return self._delta({"content": content_piece(index)})

    def finish(self, finish_reason: str) -> dict[str, Any]:
        return self._delta({}, finish_reason)

    def usage(self, completion_tokens: int) -> dict[str, Any]:
        return self._chunk([], usage=usage_block(completion_tokens))


def usage_block(completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": completion_tokens,
        "total_tokens": PROMPT_TOKENS + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def completion(model: str, content_chunks: int, finish_reason: str, *, tool_call: bool) -> dict[str, Any]:
    """A non-streamed `chat.completion` holding what the stream would have carried."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if tool_call:
        message["tool_calls"] = [{"id": f"call_{secrets.token_hex(8)}", "type": "function",
                                  "function": {"name": "get_weather", "arguments": TOOL_ARGS}}]
    else:
        message["content"] = "".join(content_piece(i) for i in range(content_chunks))
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage_block(content_chunks),
    }


def sse_event(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()
