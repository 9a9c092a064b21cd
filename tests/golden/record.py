"""`python -m tests.golden.record` (or `make golden`): rewrites tests/data/golden/ from what today's code produces.

Run it only when a change to what users see is intended, and commit the data with that change: the diff of the
data files is then the review of what changed.
"""

from __future__ import annotations

import asyncio
import shutil

from tests.golden.drive import capture_folders, default_config, replay
from tests.golden.loadgen import replay_loadgen
from tests.golden.store import GOLDEN, LOADGEN, golden_path, write_lines


async def record_all() -> int:
    config = default_config()
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    for folder in capture_folders():
        write_lines(golden_path(folder), await replay(folder, config))
    write_lines(LOADGEN, await replay_loadgen(config))
    return len(capture_folders())


def main() -> None:
    count = asyncio.run(record_all())
    size = sum(p.stat().st_size for p in GOLDEN.rglob("*.jsonl*"))
    print(f"recorded {count} captures and the seeded loadgen run into {GOLDEN} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
