from __future__ import annotations

import pytest

from tests.processors.redaction.captures import HASH_ENV, HASH_KEY


@pytest.fixture
def hash_key(monkeypatch) -> str:
    """Sets the HMAC key env var for the test; returns the var's name."""
    monkeypatch.setenv(HASH_ENV, HASH_KEY)
    return HASH_ENV
