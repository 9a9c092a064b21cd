"""Redacting values in place: attribute lists (repeated KeyValue) and GenAI log bodies (AnyValue)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

HASH_PREFIX = "hmac-sha256:"


class ValueRedactor:
    """Drops a value, or replaces it with `hmac-sha256:<hex>` of it under a secret key.

    A string is hashed as its UTF-8 bytes, so the same prompt text gives the same digest wherever it appears;
    any other value (arrays, maps) as its deterministic protobuf encoding.
    """

    def __init__(self, action: str, hash_key: bytes | None = None) -> None:
        if action == "hash" and not hash_key:
            raise ValueError("action hash needs an HMAC key")
        self.drop = action == "drop"
        self._mac = hmac.new(hash_key, digestmod=hashlib.sha256) if hash_key else None

    def digest(self, value: Any) -> str:
        """The replacement for an AnyValue under action hash."""
        mac = self._mac.copy()
        if value.WhichOneof("value") == "string_value":
            mac.update(value.string_value.encode("utf-8"))
        else:
            mac.update(value.SerializeToString(deterministic=True))
        return HASH_PREFIX + mac.hexdigest()

    def attributes(self, attributes: Any, matches: Callable[[str], bool], found: list[str]) -> None:
        """Redacts the attributes whose key `matches`; appends their keys to `found`. Reads only keys otherwise."""
        if len(attributes) == 1:  # a chunk event's one text attribute, thousands per request: no list building
            key = attributes[0].key
            if matches(key):
                found.append(key)
                if self.drop:
                    del attributes[0]
                else:
                    value = attributes[0].value
                    value.string_value = self.digest(value)
            return
        hits = [index for index, kv in enumerate(attributes) if matches(kv.key)]
        if hits:
            self._redact_entries(attributes, hits, found, "")

    def body(self, record: Any, fields: frozenset[str], found: list[str]) -> None:
        """Redacts a GenAI log record's body: all of it when it is text, else every entry named in `fields`, at any
        depth."""
        body = record.body
        kind = body.WhichOneof("value")
        if kind == "string_value":
            if body.string_value:
                found.append("body")
                if self.drop:
                    record.ClearField("body")
                else:
                    body.string_value = self.digest(body)
            return
        pending = [(body, "body")]  # a stack, not recursion: bodies may nest deeply
        while pending:
            value, path = pending.pop()
            kind = value.WhichOneof("value")
            if kind == "kvlist_value":
                entries = value.kvlist_value.values
                hits = [index for index, kv in enumerate(entries) if kv.key in fields]
                if hits:
                    self._redact_entries(entries, hits, found, path + ".")
                pending.extend((kv.value, f"{path}.{kv.key}") for kv in entries if kv.key not in fields)
            elif kind == "array_value":
                pending.extend((item, path) for item in value.array_value.values)

    def _redact_entries(self, entries: Any, hits: list[int], found: list[str], prefix: str) -> None:
        found.extend(prefix + entries[index].key for index in hits)
        if self.drop:
            for index in reversed(hits):
                del entries[index]
        else:
            for index in hits:
                value = entries[index].value
                value.string_value = self.digest(value)
