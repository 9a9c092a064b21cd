from __future__ import annotations

from pydantic import Field, field_validator

from processor.config.hmac_keys import check_hmac_key_env
from processor.config.models import ComponentConfig

#: OpenLLMetry's per-chunk span event (older name too), and LangChain's run event as a span event.
CHUNK_EVENTS = ("gen_ai.content.completion.chunk", "llm.content.completion.chunk", "new_token")
#: Attributes of a chunk event or chunk log record that hold the chunk's text, first found wins. `token` is
#: LangChain's `new_token` payload; the others are what gateways and newer emitters write.
TEXT_KEYS = ("gen_ai.completion.chunk", "gen_ai.completion.delta", "gen_ai.chunk.text", "gen_ai.completion",
             "token", "content")
#: What a user without a key can do instead, as the missing key's error says.
WITHOUT_KEY = "leave hash_key_env out for unkeyed SHA-256 fingerprints"


class ContentCheckConfig(ComponentConfig):
    #: Span event names that stand for one streamed chunk; those carrying text rebuild the completion.
    chunk_events: list[str] = Field(default_factory=lambda: list(CHUNK_EVENTS))
    #: Log record event names that stand for one streamed chunk (text in the body or in `text_keys`).
    chunk_log_events: list[str] = Field(default_factory=lambda: list(CHUNK_EVENTS))
    text_keys: list[str] = Field(default_factory=lambda: list(TEXT_KEYS), min_length=1)
    #: Name of an environment variable holding an HMAC key (16 characters or more): the fingerprints in an anomaly's
    #: detail are then HMAC-SHA256 instead of SHA-256 (a guessed short completion cannot be confirmed without the
    #: key). Named but unset, empty or short, the config is refused, as redaction's is.
    hash_key_env: str = ""
    #: Streams whose chunk log records are held, at most, until their record is checked (oldest dropped first).
    max_pending: int = Field(10000, ge=1)

    @field_validator("hash_key_env")
    @classmethod
    def _key_set_when_named(cls, name: str) -> str:
        return check_hmac_key_env(name, otherwise=WITHOUT_KEY) if name else name

    @field_validator("chunk_events", "chunk_log_events", "text_keys")
    @classmethod
    def _no_empty_names(cls, names: list[str]) -> list[str]:
        if any(not name for name in names):
            raise ValueError("names must not be empty")
        return names
