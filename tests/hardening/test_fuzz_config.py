"""The config loader and validator, fuzzed: every bad config ends in messages (Problems or LoadError), never a
traceback; and `tokenstream validate` says so and exits 1 for a handful of the nastiest shapes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from hypothesis import given

from processor.config.loader import LoadError, expand_env, load
from processor.config.validate import Config, Problems, validate
from tests.hardening.config_mutations import ANCHOR_TEMPLATES, mutated_default, values, yaml_texts
from tests.hardening.conftest import examples


def outcome(run) -> str:
    """Run load/validate; a Config or one of the two message-carrying errors is fine, anything else fails."""
    try:
        result = run()
    except Problems as problems:
        assert problems.errors and all(isinstance(line, str) and line for line in problems.errors)
        return "problems"
    except LoadError as error:
        assert str(error)
        return "load_error"
    assert isinstance(result, Config)
    return "valid"


@pytest.fixture
def tally(figures, request):
    family = figures.family(f"config/{request.node.name.removeprefix('test_')}")
    return family


@examples(fast=150, full=1500)
@given(document=mutated_default())
def test_mutated_default_yaml(tally, document):
    tally.count(outcome(lambda: validate(expand_env(document, {}))))


@examples(fast=150, full=1500)
@given(text=yaml_texts())
def test_random_yaml_files(tally, tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cfg") / "config.yaml"
    path.write_text(text)
    tally.count(outcome(lambda: validate(load([path]))))


@examples(fast=100, full=800)
@given(document=values)
def test_random_documents(tally, document):
    tally.count(outcome(lambda: validate(expand_env(document if isinstance(document, dict) else {"x": document},
                                                    {"HOME": "/root"}))))


@examples(fast=100, full=800)
@given(value=values)
def test_expand_env_keeps_the_shape(value):
    expanded = expand_env(value, {"A": "1"})
    assert type(expanded) is type(value) or isinstance(value, str)


CLI_CASES = {
    "deep": "a: " + "[" * 3000 + "]" * 3000 + "\n",
    "recursive_alias": ANCHOR_TEMPLATES[0],
    "yaml_bomb": ANCHOR_TEMPLATES[2],
    "huge_numbers": "service: {shutdown_timeout: " + "9" * 400 + "}\nprocessors: {batch: {timeout: 1e999}}\n",
    "int_keys": "receivers: {1: {}, otlp: {protocols: {http: {endpoint: 5}}}}\n",
    "wrong_types": yaml.safe_dump({"receivers": [], "service": {"pipelines": {"traces": "otlp"}}}),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_validate_reports_instead_of_crashing(tmp_path, case):
    path = tmp_path / "config.yaml"
    path.write_text(CLI_CASES[case])
    result = subprocess.run([sys.executable, "-m", "processor", "validate", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "error: " in result.stderr
