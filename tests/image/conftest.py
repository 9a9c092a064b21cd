"""`make image-test`: the image built from the Dockerfile with podman, then run the way the Helm chart runs it."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.image.images import build, podman

TAG = "localhost/tokenstream:image-test"


@pytest.fixture(scope="session")
def tools() -> None:
    """podman, runc and mmdebstrap; skipped on a developer's machine without them, never under CI."""
    missing = [tool for tool in ("podman", "runc", "mmdebstrap") if not shutil.which(tool)]
    if not missing:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{', '.join(missing)} missing under CI: .ci/run must install them")
    pytest.skip(f"needs {', '.join(missing)} (apt-get install podman runc mmdebstrap); CI requires them")


@pytest.fixture(scope="session")
def image(tools) -> str:
    """The committed Dockerfile's image. The one it replaces is removed, so runs do not pile up images."""
    before = podman("image", "inspect", "--format", "{{.Id}}", TAG, check=False).stdout.strip()
    build(TAG)
    if before and before != podman("image", "inspect", "--format", "{{.Id}}", TAG).stdout.strip():
        podman("rmi", before, check=False)
    return TAG
