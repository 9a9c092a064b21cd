"""Hypothesis strategies for bad configs: random YAML values and mutations of pipelines/default.yaml."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path

import yaml
from hypothesis import strategies as st

DEFAULT_YAML = Path(__file__).resolve().parents[2] / "pipelines" / "default.yaml"
DEFAULT = yaml.safe_load(DEFAULT_YAML.read_text())

_bad_strings = st.sampled_from(["2x", "-1s", "1e9h", "", " ", "64QB", "99999999999999999999999999999.5GiB",
                                "9" * 400 + "s", "::", "host:", ":99999", "127.0.0.1:-1", "[::1]:4317", "a:²",
                                "${env:NOPE}", "${env:HOME:-3s}", "null", "~", "NaN", "inf", "traces/", "Batch",
                                "0.0.0.0:4317"])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.sampled_from([10**400, -(10**400)]),
                     st.floats(), st.text(max_size=12), _bad_strings)
_keys = st.one_of(st.text(max_size=10), st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False))
values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
                      max_leaves=10)


def _children(node):
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return list(enumerate(node))
    return []


def paths(node, prefix=()):
    """Every path in the document, depth first; without recursion, as three `nest` edits make it 600 levels deep."""
    stack = [(prefix, node)]
    while stack:
        path, current = stack.pop()
        yield path
        stack.extend(((*path, key), value) for key, value in reversed(_children(current)))


def _reaches(node, target) -> bool:
    """Whether `target` (by identity) is `node` or inside it: sharing it at a place under `target` makes a cycle."""
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        if current is target:
            return True
        if id(current) not in seen:
            seen.add(id(current))
            stack.extend(value for _, value in _children(current))
    return False


def _parent(document, path):
    node = document
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated_default(draw) -> dict:
    """pipelines/default.yaml with 1-3 edits: wrong types at any path, unknown or non-string keys, deletions,
    bad durations/sizes/endpoints, deep nesting, huge numbers, and the same object shared at two places."""
    document = copy.deepcopy(DEFAULT)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in paths(document) if p]))
        parent, key = _parent(document, path), path[-1]
        edit = draw(st.sampled_from(["replace", "add_key", "delete", "nest", "share"]))
        if edit == "replace":
            parent[key] = draw(values)
        elif edit == "add_key" and isinstance(parent[key], dict):
            parent[key][draw(_keys)] = draw(values)
        elif edit == "delete":
            del parent[key]
        elif edit == "nest":
            for _ in range(draw(st.integers(1, 200))):
                parent[key] = {"x": parent[key]} if draw(st.booleans()) else [parent[key]]
        else:  # what a YAML alias makes: one object at two places
            other = draw(st.sampled_from([p for p in paths(document) if p]))
            with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier edit moved it
                shared = _parent(document, other)[other[-1]]
                # An ancestor, also through an earlier share: that would be a cycle, which only the YAML tests make.
                if not _reaches(shared, parent):
                    parent[key] = shared
    return document


ANCHOR_TEMPLATES = [
    "receivers: &r\n  otlp: *r\n",
    "service: &s {pipelines: {traces: *s}}\n",
    "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
    "x: &x {endpoint: 127.0.0.1:4317}\nreceivers: {otlp: {protocols: {grpc: *x, http: *x}}}\n",
    "processors: {batch: &b {timeout: 1s}}\nexporters: {debug: *b}\n",
]


@st.composite
def yaml_texts(draw) -> str:
    """YAML as a user might mistype it: random documents, default.yaml cut short, anchors and aliases, deep."""
    kind = draw(st.sampled_from(["dump", "cut", "anchors", "deep", "text"]))
    if kind == "dump":
        return yaml.safe_dump(draw(values))
    if kind == "cut":
        text = DEFAULT_YAML.read_text()
        return text[:draw(st.integers(0, len(text)))] + draw(st.text(max_size=20))
    if kind == "anchors":
        return draw(st.sampled_from(ANCHOR_TEMPLATES))
    if kind == "deep":
        depth = draw(st.integers(50, 1500))
        if draw(st.booleans()):
            return "a: " + "[" * depth + "]" * depth + "\n"
        return "a: " + "{b: " * depth + "1" + "}" * depth
    return draw(st.text(max_size=200))
