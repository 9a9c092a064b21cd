from __future__ import annotations

import subprocess
import sys


def test_after_start_freezes_what_is_alive_so_later_collections_skip_it():
    # in a process of its own: a freeze lasts for the life of the process it is made in
    script = ("import gc\nfrom processor.service import gc_policy\nkept = [[i] for i in range(1000)]\n"
              "gc_policy.after_start()\nlater = [[i] for i in range(10)]\n"
              "looked_at = {id(o) for g in range(3) for o in gc.get_objects(g)}\n"
              "print(any(id(k) in looked_at for k in kept), all(id(k) in looked_at for k in later))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
