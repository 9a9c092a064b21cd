from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    """The promtool binary; skipped only on a developer's machine without it, never under CI."""
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("promtool is missing under CI: .ci/run must install Debian's prometheus package")
    pytest.skip("promtool not installed (apt-get install prometheus); CI requires it")
