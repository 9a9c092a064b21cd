"""How this project calls podman: the runc runtime and limits this host allows, errors that show podman's words."""

from __future__ import annotations

import resource
import subprocess

# Debian's default crun refuses this host's cgroup layout; runc works.
PODMAN = ("podman", "--runtime", "runc")


def ulimits() -> list[str]:
    """Limits a container may have here: podman's defaults (over a million) are above what this host lets it set."""
    nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 20000)
    nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 8192)
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


class PodmanError(RuntimeError):
    """A podman command failed; the message ends with what it printed."""


def podman(*args: str, timeout: float = 120, check: bool = True, stdin: str | None = None,
           ) -> subprocess.CompletedProcess[str]:
    """`podman ARGS`; a container it runs or builds in gets the limits above."""
    if args[0] in ("run", "build"):
        args = (args[0], *ulimits(), *args[1:])
    result = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout, input=stdin)
    if check and result.returncode != 0:
        output = (result.stdout[-3000:] + result.stderr[-3000:]).strip()
        raise PodmanError(f"podman {' '.join(args[:3])} ... exited {result.returncode}:\n{output}")
    return result


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0
