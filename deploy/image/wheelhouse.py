"""The wheels an offline image build installs, downloaded on the host into deploy/image/wheelhouse/.

A build inside podman reaches no index (and package downloads there may not verify TLS the way the host does),
so the host fetches every runtime dependency and every build-system requirement (pip's build isolation needs them
to build tokenstream's own wheel in the image) as wheels for the image's Python and platform. tokenstream itself
is not among them: its wheel is built in the image, where any compiled extension meets that Python's headers.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / "deploy" / "image" / "wheelhouse"
# Debian bookworm has glibc 2.36; python:3.11-slim is bookworm too.
_GLIBC_MINORS = range(17, 37)


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    project = tomllib.loads(pyproject.read_text())
    return [*project["project"]["dependencies"], *project["build-system"]["requires"]]


def platforms(machine: str = platform.machine()) -> list[str]:
    return [*(f"manylinux_2_{minor}_{machine}" for minor in _GLIBC_MINORS), f"manylinux2014_{machine}",
            f"manylinux2010_{machine}", f"manylinux1_{machine}"]


def fill(python: str, wheelhouse: Path = WHEELHOUSE) -> Path:
    """Downloads what is missing; fails naming a requirement with no wheel. Skipped when nothing changed since the
    last fill (pip would spend most of a minute resolving again to find every file already there)."""
    abi = "cp" + python.replace(".", "")
    command = ["pip", "download", "--quiet", "--disable-pip-version-check",
               "--dest", str(wheelhouse), "--only-binary=:all:", "--python-version", python,
               "--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none",
               *(arg for tag in platforms() for arg in ("--platform", tag)), *requirements()]
    stamp = wheelhouse / ".filled-for"
    wanted = hashlib.sha256("\0".join(command).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return wheelhouse
    result = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"pip download for the wheelhouse failed:\n{result.stderr[-4000:]}")
    stamp.write_text(wanted)
    return wheelhouse
