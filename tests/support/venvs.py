"""One virtualenv per instrumentation library, made by the tests themselves from a pinned lock file, and cached.

`tests/support/libraries/<lib>.txt` is a full freeze of what the library needs (it installs with `--no-deps`, so
nothing is resolved at test time). The virtualenv lives in `.cache/instrumentations/<lib>-<hash>/` (gitignored),
keyed by the lock file and the Python version: a changed pin makes a new one, an unchanged one is reused. Several
processes may ask at once (a file lock serialises the build of one library); a half-built one is never used.

    python_for("traceai_register")  # -> Path to that venv's python, building it first when needed
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCKS = Path(__file__).parent / "libraries"
CACHE = REPO_ROOT / ".cache" / "instrumentations"
#: Harness instrumentation name -> the library virtualenv it runs in.
VENV_OF = {"traceai": "traceai", "traceai_register": "traceai", "mlflow": "mlflow", "langfuse": "langfuse",
           "logfire": "logfire", "openlit": "openlit"}
INSTALL_TIMEOUT_S = 900


def lock_file(lib: str) -> Path:
    return LOCKS / f"{lib}.txt"


def venv_dir(lib: str) -> Path:
    digest = hashlib.sha256(lock_file(lib).read_bytes() + sys.version.encode()).hexdigest()[:12]
    return CACHE / f"{lib}-{digest}"


def python_for(instr: str) -> Path:
    """The python of the virtualenv `instr` runs in (the test suite's own for the instrumentations in its
    dev dependencies)."""
    lib = VENV_OF.get(instr)
    if lib is None:
        return Path(sys.executable)
    return ensure(lib) / "bin" / "python"


def ensure(lib: str) -> Path:
    """The library's virtualenv, built from its lock file unless a complete one is cached."""
    target = venv_dir(lib)
    if (target / ".complete").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{lib}.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # another process may be building it: wait for it
        if not (target / ".complete").exists():
            _build(lib, target)
    return target


def _build(lib: str, target: Path) -> None:
    """Built in place (a venv's scripts name its folder); `.complete` is written last, so a build that died half-way
    is started over."""
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True, timeout=120)
    # --no-compile: only the modules a run imports get byte-compiled (on first import), not all of botocore
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-compile"]
    done = subprocess.run([*pip, "--no-deps", "-r", str(lock_file(lib))], capture_output=True, text=True,
                          timeout=INSTALL_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"installing {lock_file(lib).name} into a virtualenv failed:\n{done.stderr[-4000:]}")
    for stale in CACHE.glob(f"{lib}-*"):  # earlier pins of the same library
        if stale.is_dir() and stale != target:
            shutil.rmtree(stale, ignore_errors=True)
    (target / ".complete").write_text(lock_file(lib).read_text())
