"""Reading pipeline YAML: several files deep-merged, `${env:...}` expanded, `--set` overrides applied."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from processor.config.types import cut, quoted

_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_WHOLE_REF = re.compile(r"^\$\{env:[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$")


class LoadError(Exception):
    """A config file could not be read or parsed; the message says which and where."""


def load(paths: Iterable[str | Path], overrides: Iterable[str] = (), env: Mapping[str, str] | None = None) -> dict:
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    for path in paths:
        merged = deep_merge(merged, _read(Path(path)))
    for override in overrides:
        _apply_set(merged, override)
    _check_shape(merged)
    return expand_env(merged, env)


#: Deeper than any real config; much deeper would exhaust Python's recursion in the steps after loading.
MAX_DEPTH = 64
#: Values a document may hold once YAML aliases are followed: a few aliases can stand for billions ("YAML bomb").
MAX_VALUES = 1_000_000
#: The largest config file read. Real pipelines are a few KB (a price table of a thousand models, ~100 KB); YAML
#: parses at a few MB a minute in Python, so a file much larger would only cost minutes and gigabytes to refuse.
MAX_CONFIG_BYTES = 1 << 20
#: LibYAML's parser when PyYAML has it (it is several times faster), else the pure-Python one; both safe.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_shape(document: dict) -> None:
    """Refuse a document that later steps could not walk: an alias inside its own anchor, deep nesting, a bomb."""
    stack: list[tuple[Any, tuple[int, ...]]] = [(document, ())]
    seen = 0
    while stack:
        node, ancestors = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise LoadError(f"the config holds more than {MAX_VALUES} values (each use of a YAML alias counts its "
                            "values again)")
        if not isinstance(node, dict | list):
            continue
        if id(node) in ancestors:
            raise LoadError("a YAML alias refers to a mapping or list that contains it; the config would be infinite")
        if len(ancestors) >= MAX_DEPTH:
            raise LoadError(f"the config is nested more than {MAX_DEPTH} levels deep")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, (*ancestors, id(node))) for child in children)


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)  # a bounded read: a pipe or a device has no size to check first
    except OSError as exc:
        raise LoadError(f"{path}: cannot read config ({exc.strerror})") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise LoadError(f"{path}: the file is larger than {MAX_CONFIG_BYTES >> 20} MiB, the most a config file may "
                        "be (pipelines are a few KB); is it the right file?")
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: not valid YAML: not UTF-8 text (byte {exc.start})") from None
    try:
        document = yaml.load(text, Loader=_LOADER)  # _LOADER is a safe loader
    except RecursionError:
        raise LoadError(f"{path}: the YAML is nested too deeply to read") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4300 digits)
        raise LoadError(f"{path}: not valid YAML: {exc}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise LoadError(f"{path}: not valid YAML{at}: {cut(problem, 200)}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise LoadError(f"{path}: the top level must be a mapping (receivers:, processors:, ...), not a "
                        f"{type(document).__name__}")
    return document


def deep_merge(base: dict, override: dict) -> dict:
    """Maps merge key by key; anything else in `override` replaces what `base` had."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _apply_set(document: dict, override: str) -> None:
    path, sep, raw = override.partition("=")
    if not sep or not path:
        raise LoadError(f"--set {quoted(override)}: expected key.path=value, "
                        f"e.g. processors.stream.cadence.stall_gap=3s")
    keys = path.split(".")
    node = document
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    try:
        node[keys[-1]] = yaml.load(raw, Loader=_LOADER) if raw != "" else ""  # _LOADER is a safe loader
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise LoadError(f"--set {quoted(override)}: the value is not valid YAML") from exc


def expand_env(value: Any, env: Mapping[str, str], depth: int = 0) -> Any:
    """Expand `${env:NAME}` and `${env:NAME:-default}` in every string.

    A string that is one reference and nothing else is re-read as a YAML scalar, as the Collector
    does, so `port: ${env:PORT}` becomes a number. An unset variable without a default is empty.
    A document nested past MAX_DEPTH is a LoadError here too, whoever built it (not a RecursionError).
    """
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        raise LoadError(f"the config is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        return {key: expand_env(item, env, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item, env, depth + 1) for item in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    expanded = _ENV_REF.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if _WHOLE_REF.match(value) and expanded != "":
        try:
            scalar = yaml.load(expanded, Loader=_LOADER)
        except yaml.YAMLError:
            return expanded
        return scalar if isinstance(scalar, str | int | float | bool) else expanded
    return expanded
