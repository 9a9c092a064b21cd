"""HMAC keys that a config names by environment variable (`hash_key_env` of redaction and stream's content_check).

The key is checked when the config is validated, so `tokenstream validate` and start-up refuse a missing or short
key with the variable's name and the fix, instead of a processor hashing without it; and read again when the
processor is created, from the environment it runs in.
"""

from __future__ import annotations

import os

#: Shortest key accepted: a shorter one lets anyone who can guess it confirm guessed texts.
MIN_HMAC_KEY_LENGTH = 16


def check_hmac_key_env(name: str, *, otherwise: str) -> str:
    """`name`, when the environment variable it names holds a usable key; else a ValueError that says how to set
    one, or `otherwise`: what the user can do instead (e.g. "use action: drop")."""
    value = os.environ.get(name, "")
    example = f"(e.g. {name}=$(openssl rand -hex 32))"
    if not value:
        raise ValueError(f'environment variable "{name}" is not set; export it with the HMAC key before starting '
                         f"{example}, or {otherwise}")
    if len(value) < MIN_HMAC_KEY_LENGTH:
        raise ValueError(f'the HMAC key in "{name}" has {len(value)} characters; use at least {MIN_HMAC_KEY_LENGTH} '
                         f"{example}")
    return name


def hmac_key_from_env(name: str, *, otherwise: str) -> bytes:
    """The key in the environment variable `name`, checked as at validation."""
    return os.environ[check_hmac_key_env(name, otherwise=otherwise)].encode("utf-8")
