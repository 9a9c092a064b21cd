from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from processor.config.hmac_keys import check_hmac_key_env
from processor.config.models import ComponentConfig

#: What a user without a key can do instead, as the missing key's error says.
WITHOUT_KEY = "use action: drop"


def _check_key(key: str) -> str:
    if not key:
        raise ValueError("an attribute key must not be empty")
    if "*" in key[:-1] or (key.endswith("*") and not key.endswith(".*")):
        raise ValueError(f'"{key}": only a trailing ".*" (every key under a prefix) is supported; '
                         "use block_key_patterns for regular expressions")
    return key


def _check_pattern(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f'"{pattern}" is not a valid regular expression ({exc})') from None
    return pattern


AttributeKey = Annotated[str, AfterValidator(_check_key)]
KeyPattern = Annotated[str, AfterValidator(_check_pattern)]


class RedactionConfig(ComponentConfig):
    #: `genai_content` redacts prompt and completion content in every known convention (see preset.py);
    #: `none` redacts only what the lists below name.
    preset: Literal["genai_content", "none"] = "genai_content"
    #: Keys never redacted, even when the preset or a block rule names them. Not an allow-list: keys that are
    #: not named anywhere are kept, because stream reconstruction reads many attributes.
    allow_keys: list[AttributeKey] = Field(default_factory=list)
    #: Keys redacted besides the preset's; `prefix.*` covers every key under the prefix.
    block_keys: list[AttributeKey] = Field(default_factory=list)
    #: Regular expressions searched in each key (as the Collector's blocked_key_patterns).
    block_key_patterns: list[KeyPattern] = Field(default_factory=list)
    #: `drop` removes the value; `hash` replaces it with `hmac-sha256:<hex>` so equal values still join.
    action: Literal["drop", "hash"] = "drop"
    #: Name of the environment variable holding the HMAC key; required when action is hash.
    hash_key_env: str = ""
    #: Add `redaction.redacted.keys` and `redaction.redacted.count` to each span and log record redacted.
    summary: bool = False

    @field_validator("hash_key_env")
    @classmethod
    def _key_env_set_for_hash(cls, name: str, info: ValidationInfo) -> str:
        if info.data.get("action") != "hash":
            return name
        if not name:
            raise ValueError("is required when action is hash: set it to the name of the environment variable "
                             "that holds the HMAC key, e.g. hash_key_env: TOKENSTREAM_REDACTION_KEY")
        return check_hmac_key_env(name, otherwise=WITHOUT_KEY)

    @model_validator(mode="after")
    def _no_key_both_allowed_and_blocked(self) -> RedactionConfig:
        both = sorted(set(self.allow_keys) & set(self.block_keys))
        if both:
            raise ValueError(f"{', '.join(both)} listed in both allow_keys and block_keys; keep each in one list")
        return self
