"""Metric names a PromQL expression reads: enough PromQL to check a dashboard or rule file against /metrics."""

from __future__ import annotations

import re

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool",
             "inf", "nan"}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPINGS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_OFFSETS = re.compile(r"\boffset\s+-?\w+")
_LABEL_VALUES = re.compile(r"label_values\((.*),\s*\w+\s*\)\s*$")
_FUNCTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\s*\(")


def metric_names(expr: str) -> set[str]:
    """`sum by (route) (rate(x_total{a="b"}[5m])) / y` -> {"x_total", "y"}; Grafana's label_values() too."""
    expr = expr.strip()
    label_values = _LABEL_VALUES.match(expr)
    if label_values:
        expr = label_values.group(1)
    for pattern in (_STRINGS, _MATCHERS, _RANGES, _GROUPINGS, _OFFSETS):
        expr = pattern.sub(" ", expr)
    expr = _FUNCTION.sub(" ", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word = match.group(0)
        start = match.start()
        if start and (expr[start - 1].isdigit() or expr[start - 1] in "$."):
            continue  # the unit of a number (1e3, 5m) or a Grafana variable
        if word.lower() not in _KEYWORDS:
            names.add(word)
    return names


def exposed_names(exposition: str) -> set[str]:
    """Every sample name a Prometheus text exposition can serve, from its TYPE lines and its samples."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            if kind == "histogram":
                names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
            elif kind == "summary":
                names.update({f"{name}_sum", f"{name}_count"})
        elif line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names
