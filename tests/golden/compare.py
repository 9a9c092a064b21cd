"""A readable account of how a replay's lines differ from the recorded ones: the first differing line, and the
JSON path inside it where they part (e.g. `traces.request .resourceSpans[0].scopeSpans[0].spans[1].name`)."""

from __future__ import annotations

import json
from typing import Any

_SHOWN = 160


def first_difference(expected: list[str], got: list[str]) -> str | None:
    """None when the lines are equal, else one paragraph saying where and how they differ."""
    if expected == got:
        return None
    for number, (want, have) in enumerate(zip(expected, got, strict=False), start=1):
        if want != have:
            old, new = json.loads(want), json.loads(have)
            path, old_value, new_value = _first_path(old, new, "")
            return (f"line {number} ({old.get('output')} recorded, {new.get('output')} now), at {path or '.'}:\n"
                    f"  recorded: {_short(old_value)}\n  now:      {_short(new_value)}")
    longer, which = (expected, "recorded") if len(expected) > len(got) else (got, "produced now")
    extra = longer[min(len(expected), len(got))]
    return (f"{len(expected)} lines recorded, {len(got)} produced now; the first line only {which}:\n"
            f"  {_short(json.loads(extra))}")


def _first_path(old: Any, new: Any, path: str) -> tuple[str, Any, Any]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            if key not in old or key not in new or old[key] != new[key]:
                if key not in old or key not in new:
                    return f"{path}.{key}", old.get(key, "<absent>"), new.get(key, "<absent>")
                return _first_path(old[key], new[key], f"{path}.{key}")
    if isinstance(old, list) and isinstance(new, list):
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            if a != b:
                return _first_path(a, b, f"{path}[{i}]")
        if len(old) != len(new):
            return f"{path} (length {len(old)} recorded, {len(new)} now)", old[len(new):], new[len(old):]
    return path, old, new


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + f"... ({len(text)} characters)"
