"""What `drop_attributes` removes or replaces: the redaction processor's rules, in a form the compiled writer reads.

Keys are decided as the redaction processor's KeyMatcher decides them: an allowed key (exact, or under an allowed
`prefix.`) is kept; else a blocked one (exact, or under a blocked prefix) or one a pattern finds is redacted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

#: Attributes added to each span / log record redacted when `RedactRule.summary` is set.
SUMMARY_KEYS = "redaction.redacted.keys"
SUMMARY_COUNT = "redaction.redacted.count"


def split_keys(keys: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Exact keys, and the prefixes (with their dot) of `prefix.*` entries."""
    keys = tuple(keys)
    return tuple(sorted({k for k in keys if not k.endswith(".*")})), tuple(sorted({k[:-1] for k in keys
                                                                                  if k.endswith(".*")}))


@dataclass(frozen=True, eq=False)
class RedactRule:
    block_keys: tuple[str, ...] = ()
    block_prefixes: tuple[str, ...] = ()
    #: Regular expressions searched in each key (decided once per distinct key).
    block_patterns: tuple[str, ...] = ()
    allow_keys: tuple[str, ...] = ()
    allow_prefixes: tuple[str, ...] = ()
    #: None: a redacted attribute is removed. Else the value is replaced by `digest(encoded AnyValue)`, a string.
    digest: Callable[[bytes], str] | None = None
    #: Add SUMMARY_KEYS (the redacted keys, sorted, comma-separated) and SUMMARY_COUNT to each span / log record
    #: redacted (replacing earlier ones); resource and scope attributes are redacted but summarised on no item.
    summary: bool = False
    #: Log records whose event name starts with `body_event_prefix`: a text body is redacted whole, and in a
    #: structured one every entry under one of these keys, at any depth (path `body.message.content`).
    body_fields: frozenset[str] = frozenset()
    body_event_prefix: str = "gen_ai."
    _patterns: tuple[re.Pattern, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", tuple(re.compile(p) for p in self.block_patterns))

    @classmethod
    def from_keys(cls, *, block: Iterable[str] = (), patterns: Iterable[str] = (), allow: Iterable[str] = (),
                  **options) -> RedactRule:
        """From key lists as the redaction config writes them (`prefix.*` entries are prefixes)."""
        block_keys, block_prefixes = split_keys(block)
        allow_keys, allow_prefixes = split_keys(allow)
        return cls(block_keys=block_keys, block_prefixes=block_prefixes, block_patterns=tuple(patterns),
                   allow_keys=allow_keys, allow_prefixes=allow_prefixes, **options)

    def matches(self, key: str) -> bool:
        """Whether the value under `key` is redacted (the one decision both backends make)."""
        if key in self.allow_keys or key.startswith(self.allow_prefixes):
            return False
        if key in self.block_keys or key.startswith(self.block_prefixes):
            return True
        return any(pattern.search(key) for pattern in self._patterns)

    def pattern_matches(self, key: str) -> bool:
        return any(pattern.search(key) for pattern in self._patterns)


class Redacted(NamedTuple):
    """`data`: the request with the rule applied (the very input bytes when nothing matched); `count`: values
    redacted (as the redaction processor counts them: every attribute and body entry)."""

    data: bytes
    count: int
