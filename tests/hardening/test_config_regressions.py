"""Crashes the config fuzzer found in loading and validation, each pinned: now a message, not a traceback."""

from __future__ import annotations

import pytest

from processor.config.loader import LoadError, expand_env, load
from processor.config.validate import Problems, validate
from tests.hardening.config_mutations import ANCHOR_TEMPLATES

OTLP = {"receivers": {"otlp": {"protocols": {"http": {"endpoint": "127.0.0.1:0"}}}}, "exporters": {"debug": {}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["debug"]}}}}


def problems_of(document: dict) -> list[str]:
    with pytest.raises(Problems) as raised:
        validate(document)
    return raised.value.errors


def test_a_non_string_component_key_is_a_problem():
    errors = problems_of({**OTLP, "receivers": {1: {}, **OTLP["receivers"]}})
    assert any(line.startswith("receivers::1::[key]") for line in errors), errors


@pytest.mark.parametrize("field, value", [("shutdown_timeout", 10**400), ("shutdown_timeout", float("nan")),
                                          ("shutdown_timeout", float("inf")), ("shutdown_timeout", "9" * 400 + "s")])
def test_durations_too_large_or_not_numbers_are_problems(field, value):
    errors = problems_of({**OTLP, "service": {**OTLP["service"], field: value}})
    assert any("is not a finite duration" in line for line in errors), errors


def test_a_size_too_large_for_a_float_is_a_problem():
    http = {"endpoint": "127.0.0.1:0", "max_request_size": "9" * 400 + ".5GiB"}
    errors = problems_of({**OTLP, "receivers": {"otlp": {"protocols": {"http": http}}}})
    assert any("max_request_size" in line and "too large" in line for line in errors), errors


def test_a_value_too_deep_to_print_is_still_described():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    errors = problems_of({**OTLP, "service": {**OTLP["service"], "extensions": {"x": deep}}})
    assert any(line.startswith("service::extensions") for line in errors), errors


@pytest.mark.parametrize("text, message", [
    ("a: " + "[" * 5000 + "]" * 5000, "nested (too deeply|more than 64 levels)"),  # LibYAML reads it, then it is cut
    ("a: " + "[" * 80 + "]" * 80, "nested more than 64 levels"),
    (ANCHOR_TEMPLATES[0], "refers to a mapping or list that contains it"),
    (ANCHOR_TEMPLATES[2], "more than 1000000 values"),
    ("service: {shutdown_timeout: " + "9" * 5000 + "}", "4300 digits"),
])
def test_yaml_that_later_steps_could_not_walk_is_a_load_error(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(LoadError, match=message):
        load([path])


def test_a_set_override_nested_too_deeply_is_a_load_error(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("receivers: {}\n")
    with pytest.raises(LoadError, match="not valid YAML"):
        load([path], ["receivers.x=" + "[" * 5000])


def test_a_document_nested_too_deeply_is_a_load_error_in_env_expansion_too():
    """Found by the full-size fuzz run: documents not read by the YAML loader (built in code) skipped its depth
    check and ran expand_env into a RecursionError."""
    document: dict = {}
    node = document
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(LoadError, match="nested more than 64 levels"):
        expand_env(document, {})
