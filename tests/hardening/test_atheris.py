"""The coverage-guided fuzzer (atheris_otlp.py) in a child process: libFuzzer exits non-zero on any failure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.conftest import FULL

pytest.importorskip("atheris")
ROOT = Path(__file__).resolve().parents[2]


def test_atheris_over_both_transports(figures):
    runs = 3000 if FULL else 300
    result = subprocess.run([sys.executable, "-m", "tests.hardening.atheris_otlp", f"-runs={runs}", "-max_len=4096",
                             "-seed=1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    done = re.search(r"Done (\d+) runs", result.stderr)
    assert done and int(done.group(1)) == runs, result.stderr[-2000:]
    family = figures.family("atheris[http+grpc]")
    family.payloads += runs
    family.statuses["checked"] += runs
