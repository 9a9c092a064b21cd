"""content_check's HMAC key, as `tokenstream validate` reports it on the shipped pipeline: named but missing or
short, the config is refused with the variable's name and the fix, the same way redaction's is."""

from __future__ import annotations

from pathlib import Path

from processor.cli import main

DEFAULT = Path(__file__).resolve().parents[3] / "pipelines" / "default.yaml"
KEY_ENV = "TOKENSTREAM_CONTENT_KEY"


def validate_default_with_key(capsys) -> tuple[int, list[str], str]:
    """`tokenstream validate` of the default pipeline with content_check's hash_key_env set: (exit code, the error
    lines, stdout)."""
    code = main(["validate", "--config", str(DEFAULT), "--set", f"processors.content_check.hash_key_env={KEY_ENV}"])
    out, err = capsys.readouterr()
    return code, [line.removeprefix("error: ") for line in err.splitlines() if line.startswith("error: ")], out


def test_an_unset_key_variable_is_refused_naming_the_variable_and_the_fix(capsys, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    code, errors, _ = validate_default_with_key(capsys)
    assert code == 1
    assert errors == [f'processors::content_check::hash_key_env: environment variable "{KEY_ENV}" is not set; '
                      f"export it with the HMAC key before starting (e.g. {KEY_ENV}=$(openssl rand -hex 32)), or "
                      "leave hash_key_env out for unkeyed SHA-256 fingerprints"]


def test_an_empty_key_is_refused_as_unset(capsys, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "")
    code, errors, _ = validate_default_with_key(capsys)
    assert code == 1 and len(errors) == 1 and f'"{KEY_ENV}" is not set' in errors[0]


def test_a_short_key_is_refused_as_redaction_refuses_it(capsys, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "secret")
    code, errors, _ = validate_default_with_key(capsys)
    assert code == 1
    assert errors == [f'processors::content_check::hash_key_env: the HMAC key in "{KEY_ENV}" has 6 characters; '
                      f"use at least 16 (e.g. {KEY_ENV}=$(openssl rand -hex 32))"]


def test_a_set_key_is_valid(capsys, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "0123456789abcdef0123")
    code, errors, out = validate_default_with_key(capsys)
    assert (code, errors) == (0, []) and "valid" in out
