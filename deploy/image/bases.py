"""The Dockerfile's BASE and BUILD_BASE made locally, for hosts that cannot pull python:3.11 from Docker Hub.

Each is Debian bookworm made with mmdebstrap from Debian's own packages (its python3 is 3.11, at /usr/bin/python3
in both, so the build stage's virtualenv runs in the final stage) and imported with `podman import`. An image is
tagged with a hash of everything that made it, so a machine builds each once per package list.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deploy.image.podman import image_exists, podman

SUITE = "bookworm"
PYTHON = "3.11"  # bookworm's python3: the wheelhouse is downloaded for it
# libstdc++6: manylinux wheels (grpcio's among them) take it from the system, as python:3.11-slim has it.
RUNTIME_PACKAGES = ("python3", "libstdc++6", "ca-certificates", "netbase", "tzdata", "passwd")
# The build stage adds ensurepip (for the virtualenv), a C compiler and Python's headers (for a compiled extension).
BUILD_PACKAGES = (*RUNTIME_PACKAGES, "python3-venv", "python3-dev", "gcc", "libc6-dev")
_OPTIONS = (
    "--variant=essential",
    # Merged /usr from the start: otherwise usrmerge, and with it all of perl, comes in to convert it.
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    # This host's mirror serves Release files past their Valid-Until date (the host's apt is told the same).
    '--aptopt=Acquire::Check-Valid-Until "false"',
    *(f"--dpkgopt=path-exclude=/usr/share/{folder}/*" for folder in ("man", "doc", "info", "locale")),
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
)
_CHANGES = ("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV LANG=C.UTF-8",
            'CMD ["/bin/bash"]')


@dataclass(frozen=True)
class Base:
    name: str
    packages: tuple[str, ...]

    def mmdebstrap(self, output: Path) -> list[str]:
        return ["mmdebstrap", *_OPTIONS, f"--include={','.join(self.packages)}", SUITE, str(output)]

    @property
    def ref(self) -> str:
        made_of = json.dumps([self.mmdebstrap(Path("-")), _CHANGES]).encode()
        return f"localhost/tokenstream-base:{self.name}-{hashlib.sha256(made_of).hexdigest()[:12]}"


RUNTIME = Base("runtime", RUNTIME_PACKAGES)
BUILD = Base("build", BUILD_PACKAGES)


def ensure(base: Base, log=print) -> str:
    """The base's image reference, made first when this machine does not have it yet (a few minutes)."""
    if image_exists(base.ref):
        return base.ref
    log(f"making {base.ref} with mmdebstrap ({SUITE}: {', '.join(base.packages)})")
    # dpkg syncs every file it unpacks: on a tmpfs the runtime base took 129 s here, against 178-204 s on disk.
    scratch = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=scratch, prefix="tokenstream-base-") as folder:
        tarball = Path(folder) / f"{base.name}.tar"
        made = subprocess.run(base.mmdebstrap(tarball), capture_output=True, text=True, timeout=1800,
                              env={**os.environ, "TMPDIR": folder})
        if made.returncode != 0:
            raise RuntimeError(f"mmdebstrap failed ({made.returncode}):\n{made.stderr[-4000:]}")
        podman("import", *(arg for change in _CHANGES for arg in ("--change", change)), str(tarball), base.ref,
               timeout=600)
    _remove_replaced(base)
    return base.ref


def _remove_replaced(base: Base) -> None:
    """Bases made from an older package list: nothing builds on them any more."""
    repository = base.ref.rsplit(":", 1)[0]
    tags = podman("images", "--format", "{{.Repository}}:{{.Tag}}", repository).stdout.split()
    for ref in tags:
        if ref != base.ref and ref.startswith(f"{repository}:{base.name}-"):
            podman("rmi", ref, check=False)
