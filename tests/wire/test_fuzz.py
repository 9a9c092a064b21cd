"""The atheris targets (fuzz_wire.py) run briefly in a child process, so that `make fuzz` keeps working: libFuzzer
exits non-zero on any difference between the backends, any unexpected exception and any crash."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.wire.conftest import needs_native

pytest.importorskip("atheris")
ROOT = Path(__file__).resolve().parents[2]


@needs_native
@pytest.mark.parametrize("target", ["scan", "by_trace", "select", "drop", "add", "redact"])
def test_fuzz_target_runs_clean(target, tmp_path):
    from tests.wire.fuzz_wire import seed_corpus

    seed_corpus(tmp_path / "corpus", count=8)
    runs = 150
    result = subprocess.run(
        [sys.executable, "-m", "tests.wire.fuzz_wire", target, str(tmp_path / "corpus"), f"-runs={runs}",
         "-seed=1", "-max_len=16384", f"-artifact_prefix={tmp_path}/"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    done = re.search(r"Done (\d+) runs", result.stderr)
    assert done and int(done.group(1)) >= runs, result.stderr[-2000:]
