"""Render the chart the way `helm template` does, with Helm's own Go SDK (the helm-python-sdk package).

`python deploy/render_examples.py` rewrites deploy/examples/*/rendered.yaml from each example's values.yaml;
`--check` only reports the stale ones (exit 1). tests/deploy imports `render` and `manifest` from here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import helm_python
import yaml

DEPLOY = Path(__file__).resolve().parent
CHART = DEPLOY / "helm" / "tokenstream"
EXAMPLES = DEPLOY / "examples"
RELEASE = "tokenstream"


def example_namespace(values_file: Path) -> str:
    """An example's namespace: the `# namespace: X` line at the top of its values.yaml, else `observability`."""
    for line in values_file.read_text().splitlines():
        if line.startswith("# namespace:"):
            return line.split(":", 1)[1].strip()
    return "observability"


def render(values: dict | None, *, name: str = RELEASE, namespace: str = "observability") -> dict[str, str]:
    """Template path -> rendered text, for every template that produced something (NOTES.txt included)."""
    with helm_python.Chart.load(CHART) as chart:
        rendered = chart.render(values=values or {}, name=name, namespace=namespace, is_install=True)
    return {path: text for path, text in sorted(rendered.items()) if text.strip()}


def manifest(rendered: dict[str, str]) -> str:
    """One multi-document YAML, as `helm template` prints it (without NOTES.txt)."""
    parts = [f"---\n# Source: {path}\n{text.strip()}\n" for path, text in rendered.items()
             if not path.endswith("NOTES.txt")]
    return "".join(parts)


def documents(rendered: dict[str, str]) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(manifest(rendered)) if doc]


def render_example(values_file: Path) -> str:
    values = yaml.safe_load(values_file.read_text()) or {}
    header = (f"# Rendered from {values_file.relative_to(DEPLOY.parent)} by deploy/render_examples.py; do not edit.\n"
              f"# helm template {RELEASE} deploy/helm/tokenstream -n {example_namespace(values_file)} "
              f"-f {values_file.relative_to(DEPLOY.parent)}\n")
    return header + manifest(render(values, namespace=example_namespace(values_file)))


def example_values() -> list[Path]:
    return sorted(EXAMPLES.glob("*/values.yaml"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale examples; exit 1 if any")
    args = parser.parse_args(argv)
    stale = []
    for values_file in example_values():
        target = values_file.parent / "rendered.yaml"
        fresh = render_example(values_file)
        if target.exists() and target.read_text() == fresh:
            continue
        stale.append(target)
        if not args.check:
            target.write_text(fresh)
            print(f"wrote {target.relative_to(DEPLOY.parent)}")
    if args.check and stale:
        print("stale: " + ", ".join(str(p.relative_to(DEPLOY.parent)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
