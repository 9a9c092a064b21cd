"""Comparing the text rebuilt from chunks with the completion the span recorded, and saying how they differ
without saying what either one says: offsets, lengths and hash fingerprints only.

The usual cause is a retry whose chunks were appended to those of the broken attempt: the rebuilt text holds a
stretch of the completion twice (duplicated chunks), or goes on with a different continuation (contradictory
chunks).
"""

from __future__ import annotations

import hashlib
import hmac

_FINGERPRINT_HEX = 12


class Fingerprint:
    """`sha256:<prefix>` of a text, or `hmac-sha256:<prefix>` with a key: equal texts give equal prints."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key

    def __call__(self, text: str) -> str:
        data = text.encode("utf-8")
        if self.key is None:
            return "sha256:" + hashlib.sha256(data).hexdigest()[:_FINGERPRINT_HEX]
        return "hmac-sha256:" + hmac.new(self.key, data, hashlib.sha256).hexdigest()[:_FINGERPRINT_HEX]


def difference(rebuilt: str, recorded: str) -> str | None:
    """How `rebuilt` differs from `recorded` (offsets in characters), or None when they are equal."""
    if rebuilt == recorded:
        return None
    extra = len(rebuilt) - len(recorded)
    prefix = _common_prefix(rebuilt, recorded)
    suffix = _common_suffix(rebuilt, recorded, limit=min(len(rebuilt), len(recorded)))
    if extra > 0 and prefix + suffix >= len(recorded):
        # rebuilt = recorded with `extra` characters inserted; placed as late as possible, the inserted stretch
        # is the later copy when it repeats text already streamed.
        at = min(prefix, len(recorded))
        inserted = rebuilt[at:at + extra]
        first = rebuilt.find(inserted)
        if first < at:
            return f"text repeated from offset {at}: {extra} characters first streamed at offset {first} came " \
                   f"again (duplicated chunks)"
        if at == len(recorded):
            return f"{extra} characters more than the recorded completion from offset {at} (extra chunks)"
        return f"diverges at offset {at}: {extra} characters the recorded completion does not have, then goes on " \
               f"as recorded (contradictory chunks)"
    if extra < 0 and prefix + suffix >= len(rebuilt):
        at = min(prefix, len(rebuilt))
        return f"{-extra} characters missing at offset {at} (lost chunks)"
    return f"diverges at offset {prefix} (contradictory chunks)"


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _common_suffix(a: str, b: str, *, limit: int) -> int:
    i = 0
    while i < limit and a[-1 - i] == b[-1 - i]:
        i += 1
    return i
