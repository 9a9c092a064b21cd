"""Builds the image from the Dockerfile with no network: local Debian bases and a host-built wheelhouse.

    python -m deploy.image.build [--tag localhost/tokenstream:dev] [--dockerfile Dockerfile]

(`make image` runs it.) Needs podman, runc and mmdebstrap (Debian: apt-get install podman runc mmdebstrap).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deploy.image import bases, wheelhouse
from deploy.image.podman import podman

ROOT = wheelhouse.ROOT
DEFAULT_TAG = "localhost/tokenstream:dev"


def build(tag: str = DEFAULT_TAG, dockerfile: Path = ROOT / "Dockerfile", log=print) -> str:
    """Builds `tag` (raising PodmanError with podman's output when the build fails) and returns it."""
    started = time.monotonic()
    build_base, base = bases.ensure(bases.BUILD, log), bases.ensure(bases.RUNTIME, log)
    wheelhouse.fill(bases.PYTHON)
    log(f"bases and wheelhouse ready in {time.monotonic() - started:.0f}s; building {tag} from {dockerfile.name}")
    # No layer cache: it would keep a few hundred MB of intermediate images for every change of the sources.
    podman("build", "--isolation", "chroot", "--pull=never", "--layers=false",
           "--build-arg", f"BUILD_BASE={build_base}", "--build-arg", f"BASE={base}", "--build-arg", "WHEELS_ONLY=1",
           "--file", str(dockerfile), "--tag", tag, str(ROOT), timeout=1800)
    log(f"built {tag} in {time.monotonic() - started:.0f}s")
    return tag


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=DEFAULT_TAG)
    parser.add_argument("--dockerfile", type=Path, default=ROOT / "Dockerfile")
    args = parser.parse_args()
    build(args.tag, args.dockerfile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
