"""Which attribute keys are redacted: the preset and block lists, minus the allowed keys."""

from __future__ import annotations

import re
from collections.abc import Iterable

from processor.processors.redaction.config import RedactionConfig
from processor.processors.redaction.preset import GENAI_CONTENT_KEYS

#: Distinct keys whose decision is remembered; indexed keys (`llm.input_messages.17.message.content`) are
#: unbounded, so the cache starts over when full rather than growing.
_CACHE_SIZE = 4096


def _split(keys: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Exact keys, and the prefixes of `prefix.*` entries (with their dot)."""
    exact = frozenset(k for k in keys if not k.endswith(".*"))
    prefixes = tuple(sorted(k[:-1] for k in keys if k.endswith(".*")))
    return exact, prefixes


class KeyMatcher:
    """`matcher(key)` is True when the value under `key` is to be redacted. Allowed keys win over blocked ones."""

    def __init__(self, *, block_keys: Iterable[str] = (), block_key_patterns: Iterable[str] = (),
                 allow_keys: Iterable[str] = ()) -> None:
        self.block_keys = tuple(block_keys)
        self.block_key_patterns = tuple(block_key_patterns)
        self.allow_keys = tuple(allow_keys)
        self._blocked, self._blocked_prefixes = _split(self.block_keys)
        self._allowed, self._allowed_prefixes = _split(self.allow_keys)
        self._patterns = [re.compile(pattern) for pattern in self.block_key_patterns]
        self._decided: dict[str, bool] = {}

    @classmethod
    def from_config(cls, config: RedactionConfig) -> KeyMatcher:
        preset = GENAI_CONTENT_KEYS if config.preset == "genai_content" else ()
        return cls(block_keys=(*preset, *config.block_keys), block_key_patterns=config.block_key_patterns,
                   allow_keys=config.allow_keys)

    def __call__(self, key: str) -> bool:
        decided = self._decided.get(key)
        if decided is None:
            if len(self._decided) >= _CACHE_SIZE:
                self._decided.clear()
            decided = self._decided[key] = self._decide(key)
        return decided

    def _decide(self, key: str) -> bool:
        if key in self._allowed or (self._allowed_prefixes and key.startswith(self._allowed_prefixes)):
            return False
        if key in self._blocked or (self._blocked_prefixes and key.startswith(self._blocked_prefixes)):
            return True
        return any(pattern.search(key) for pattern in self._patterns)
