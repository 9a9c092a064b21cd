"""The config of the six processors the `stream` processor replaced, turned into its equivalent `stream:` block.

`tokenstream validate` refuses the old type names (there is no silent alias) and prints this block, built from the
user's own settings, and each pipeline's processors list with `stream` in their place.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Old processor type -> the `stream` section that does its work now (None: its settings are the top level).
OLD_TYPES: dict[str, str | None] = {"stream_reconstruct": None, "cadence": "cadence", "retry_detect": "retries",
                                    "truncation": "truncation", "cost": "cost", "content_check": "content_check"}
SECTIONS = ("cadence", "retries", "truncation", "cost", "content_check")


def is_old_type(type_: str) -> bool:
    return type_ in OLD_TYPES


def migration(processors: dict[str, Any], pipelines: dict[str, Any]) -> str:
    """The message for a config whose processors section holds old stream processor types."""
    groups: dict[str, dict[str, Any]] = {}  # new component id -> its block
    renamed: dict[str, str] = {}  # old component id -> new
    for key, body in processors.items():
        type_, _, name = str(key).partition("/")
        if type_ not in OLD_TYPES:
            continue
        new_id = f"stream/{name}" if name else "stream"
        renamed[str(key)] = new_id
        block = groups.setdefault(new_id, {})
        section = OLD_TYPES[type_]
        settings = dict(body) if isinstance(body, dict) else {}
        if section is None:
            block.update(settings)
        else:
            block[section] = settings
    for block in groups.values():
        _order(block)
    text = yaml.safe_dump({"processors": groups}, sort_keys=False, default_flow_style=None, width=100).rstrip()
    lines = ["the processors stream_reconstruct, cadence, retry_detect, truncation, cost and content_check are now "
             "one processor, `stream`, with a section for each (docs: README, \"The stream processor\"). Replace them "
             "with this equivalent block:", _indent(text)]
    for pipeline, body in pipelines.items():
        listed = body.get("processors") if isinstance(body, dict) else None
        if isinstance(listed, list) and any(str(p) in renamed for p in listed):
            new = ", ".join(_replaced(listed, renamed))
            lines.append(f"and in service::pipelines::{pipeline}: processors: [{new}]")
    return "\n".join(lines)


def _order(block: dict[str, Any]) -> None:
    """Top-level settings first, then the sections in the order they run; a processor the old config did not have
    is a section turned off (a section left out runs with its defaults)."""
    sections = {name: block.pop(name, False) for name in SECTIONS}
    block.update(sections)


def _replaced(listed: list[Any], renamed: dict[str, str]) -> list[str]:
    out: list[str] = []
    for item in map(str, listed):
        new = renamed.get(item, item)
        if new not in out:
            out.append(new)
    return out


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
