"""Config errors say which key is wrong and how to fix it, through the same validation `tokenstream validate` runs."""

from __future__ import annotations

import pytest

from processor.config.validate import Problems, validate
from processor.processors.redaction.config import RedactionConfig


def problems(redaction: dict) -> list[str]:
    document = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"}}}},
        "processors": {"redaction": redaction},
        "exporters": {"debug": {}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": ["redaction"],
                                             "exporters": ["debug"]}}},
    }
    with pytest.raises(Problems) as caught:
        validate(document)
    return caught.value.errors


def test_a_bad_regular_expression_names_the_key_the_index_and_the_pattern():
    assert problems({"block_key_patterns": ["ok", "(unclosed"]}) == [
        'processors::redaction::block_key_patterns::1: "(unclosed" is not a valid regular expression '
        "(missing ), unterminated subpattern at position 0)"]


def test_hash_without_a_key_env_says_what_to_set():
    [message] = problems({"action": "hash"})
    assert message.startswith("processors::redaction::hash_key_env: is required when action is hash")
    assert "TOKENSTREAM_REDACTION_KEY" in message


def test_hash_with_an_unset_env_var_names_the_variable(monkeypatch):
    monkeypatch.delenv("NO_SUCH_REDACTION_KEY", raising=False)
    [message] = problems({"action": "hash", "hash_key_env": "NO_SUCH_REDACTION_KEY"})
    assert message.startswith('processors::redaction::hash_key_env: environment variable "NO_SUCH_REDACTION_KEY" '
                              "is not set")
    assert "openssl rand -hex 32" in message


def test_a_short_hash_key_is_refused(monkeypatch):
    monkeypatch.setenv("SHORT_REDACTION_KEY", "secret")
    [message] = problems({"action": "hash", "hash_key_env": "SHORT_REDACTION_KEY"})
    assert "has 6 characters; use at least 16" in message


def test_every_problem_is_reported_at_once():
    found = problems({"block_keys": ["a*b", ""], "action": "mask", "allow_key": []})
    assert len(found) == 4
    assert any(line.startswith("processors::redaction::block_keys::0:") and "block_key_patterns" in line
               for line in found)
    assert any(line.startswith("processors::redaction::block_keys::1:") for line in found)
    assert any(line.startswith("processors::redaction::action:") for line in found)
    assert any('unknown key "allow_key"' in line and "allow_keys" in line for line in found)


def test_a_key_both_allowed_and_blocked_is_refused():
    [message] = problems({"allow_keys": ["input.value"], "block_keys": ["input.value"]})
    assert message == ("processors::redaction: input.value listed in both allow_keys and block_keys; "
                       "keep each in one list")


def test_redaction_in_a_metrics_pipeline_is_refused():
    document = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"}}}},
        "processors": {"redaction": {}},
        "exporters": {"debug": {}},
        "service": {"pipelines": {"metrics": {"receivers": ["otlp"], "processors": ["redaction"],
                                              "exporters": ["debug"]}}},
    }
    with pytest.raises(Problems) as caught:
        validate(document)
    assert caught.value.errors == ['service::pipelines::metrics: processor "redaction" does not support metrics; '
                                   "it supports logs, traces"]


def test_the_defaults_drop_with_the_genai_content_preset():
    config = RedactionConfig()
    assert (config.preset, config.action, config.summary, config.allow_keys) == ("genai_content", "drop", False, [])
