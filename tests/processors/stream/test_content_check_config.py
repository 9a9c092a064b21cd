"""The content check's HMAC key, as `tokenstream validate` reports it on the shipped pipeline and as
processor.config.validate refuses it: named but missing, empty or short, the config is refused with the variable's
name and the fix, the same way redaction's is (it used to fall back to unkeyed SHA-256 silently)."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.cli import main
from processor.component import Kind
from processor.config.validate import Problems, validate

DEFAULT = Path(__file__).resolve().parents[3] / "pipelines" / "default.yaml"
KEY_ENV = "TOKENSTREAM_CONTENT_KEY"
FIELD = "processors::stream::content_check::hash_key_env"


def validate_default_with_key(capsys) -> tuple[int, list[str], str]:
    """`tokenstream validate` of the default pipeline with the content check's hash_key_env set: (exit code, the
    error lines, stdout)."""
    code = main(["validate", "--config", str(DEFAULT), "--set",
                 f"processors.stream.content_check.hash_key_env={KEY_ENV}"])
    out, err = capsys.readouterr()
    return code, [line.removeprefix("error: ") for line in err.splitlines() if line.startswith("error: ")], out


def document(processors: dict[str, dict]) -> dict:
    """One traces pipeline with `processors`, in that order."""
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"}}}},
        "processors": processors,
        "exporters": {"debug": {}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": list(processors),
                                             "exporters": ["debug"]}}},
    }


def problems(processors: dict[str, dict]) -> list[str]:
    with pytest.raises(Problems) as caught:
        validate(document(processors))
    return caught.value.errors


def test_an_unset_key_variable_is_refused_naming_the_variable_and_the_fix(capsys, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    code, errors, _ = validate_default_with_key(capsys)
    assert code == 1
    assert errors[0] == (f'{FIELD}: environment variable "{KEY_ENV}" is not set; '
                         f"export it with the HMAC key before starting (e.g. {KEY_ENV}=$(openssl rand -hex 32)), or "
                         "leave hash_key_env out for unkeyed SHA-256 fingerprints")


def test_a_missing_key_is_the_only_error(capsys, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    _, errors, _ = validate_default_with_key(capsys)
    assert len(errors) == 1, errors


def test_an_empty_key_is_refused_as_unset(capsys, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "")
    code, errors, _ = validate_default_with_key(capsys)
    assert code == 1 and f'{FIELD}: environment variable "{KEY_ENV}" is not set' in errors[0]


def test_a_short_key_is_refused_as_redaction_refuses_it(capsys, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "secret")
    code, errors, _ = validate_default_with_key(capsys)
    assert code == 1
    assert errors[0] == (f'{FIELD}: the HMAC key in "{KEY_ENV}" has 6 characters; '
                         f"use at least 16 (e.g. {KEY_ENV}=$(openssl rand -hex 32))")


def test_a_set_key_is_valid(capsys, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "0123456789abcdef0123")
    code, errors, out = validate_default_with_key(capsys)
    assert (code, errors) == (0, []) and "valid" in out


#: What each refusal offers instead of a key: the rest of the reason is the same words.
INSTEAD = {"content": ", or leave hash_key_env out for unkeyed SHA-256 fingerprints",
           "redaction": ", or use action: drop"}


@pytest.mark.parametrize("value", [None, "", "secret"], ids=["unset", "empty", "short"])
def test_validate_refuses_the_content_checks_key_as_it_refuses_redactions(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("KEY_UNDER_TEST", raising=False)
    else:
        monkeypatch.setenv("KEY_UNDER_TEST", value)
    [content] = problems({"stream": {"content_check": {"hash_key_env": "KEY_UNDER_TEST"}}})
    [redaction] = problems({"redaction": {"action": "hash", "hash_key_env": "KEY_UNDER_TEST"}})
    field, reason = content.split(": ", 1)
    assert field == FIELD
    assert reason.removesuffix(INSTEAD["content"]) == \
        redaction.removeprefix("processors::redaction::hash_key_env: ").removesuffix(INSTEAD["redaction"])


def test_without_hash_key_env_no_key_is_needed(monkeypatch):
    monkeypatch.delenv("KEY_UNDER_TEST", raising=False)
    config = validate(document({"stream": {"content_check": {}}}))
    (stream,) = config.components[Kind.PROCESSOR].values()
    assert stream.content_check.hash_key_env == ""
