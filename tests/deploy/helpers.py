"""Shared by the deploy tests: rendering the chart, strict YAML, the value sets to render, promtool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))

import render_examples  # noqa: E402

CHART = render_examples.CHART
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
EXAMPLE_VALUES = render_examples.example_values()


class _StrictLoader(yaml.SafeLoader):
    """Refuses a mapping with a key twice: Kubernetes would reject it, plain PyYAML keeps the last one."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    twice = {key for key in keys if keys.count(key) > 1}
    if twice:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {sorted(twice)}", node.start_mark)
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_documents(text: str) -> list[dict]:
    return [doc for doc in yaml.load_all(text, Loader=_StrictLoader) if doc]


def values_case(path: Path) -> tuple[dict, str]:
    """The values in a ci/ or examples/ file, and the namespace to render it into."""
    return yaml.safe_load(path.read_text()) or {}, render_examples.example_namespace(path)


#: Every install names the image it pushed (no registry publishes one); tests that do not care get this one.
IMAGE = {"repository": "registry.example.com/tokenstream"}


def render_documents(values: dict, namespace: str = "observability") -> list[dict]:
    values = values if "image" in values else {**values, "image": IMAGE}
    return load_documents(render_examples.manifest(render_examples.render(values, namespace=namespace)))


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.name == "values.yaml" else path.name


ALL_CASES = pytest.mark.parametrize("values_file", CI_VALUES + EXAMPLE_VALUES, ids=case_id)


def by_kind(documents: list[dict], kind: str) -> list[dict]:
    return [doc for doc in documents if doc["kind"] == kind]


def tokenstream_validate(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "processor", "validate", "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KAFKA_BROKERS": "kafka:9092"})
