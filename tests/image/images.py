"""The images under test: built by deploy/image/build.py from the committed Dockerfile, or from a broken copy."""

from __future__ import annotations

import json
from pathlib import Path

from deploy.image import bases
from deploy.image.build import ROOT, build
from deploy.image.podman import PodmanError, podman

__all__ = ["BUDGET_MB", "ROOT", "PodmanError", "bases", "build", "config", "podman", "size_mb", "with_change"]

BUDGET_MB = 350


def size_mb(image: str) -> float:
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout) / 1e6


def config(image: str) -> dict:
    return json.loads(podman("image", "inspect", "--format", "{{json .Config}}", image).stdout)


def with_change(folder: Path, old: str, new: str) -> Path:
    """A copy of the Dockerfile with one line changed (the change must apply exactly once)."""
    text = (ROOT / "Dockerfile").read_text()
    assert text.count(old) == 1, f"the Dockerfile no longer has {old!r} once: update this test"
    broken = folder / "Dockerfile.broken"
    broken.write_text(text.replace(old, new))
    return broken
