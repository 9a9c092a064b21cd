from __future__ import annotations

import subprocess
import sys

# In a process of its own: a freeze lasts for the life of the process it is made in.
SCRIPT = """
import gc, weakref
from processor.service import gc_policy

class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the collector frees it

kept = [[i] for i in range(1000)]
garbage = Node()
gone = weakref.ref(garbage)
del garbage
gc_policy.after_start()
later = [[i] for i in range(10)]
looked_at = {id(o) for g in range(3) for o in gc.get_objects(g)}
print(any(id(k) in looked_at for k in kept), all(id(k) in looked_at for k in later), gone() is None,
      gc.get_threshold()[0] >= gc_policy.YOUNG_THRESHOLD)
"""


def test_after_start_frees_startup_garbage_then_freezes_what_is_alive_so_later_collections_skip_it():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    kept_looked_at, later_looked_at, garbage_freed, young_rarer = out.split()
    assert kept_looked_at == "False", "what was alive at start is out of the collector's generations"
    assert later_looked_at == "True", "what is made later is collected as before"
    assert garbage_freed == "True", "start-up's garbage is collected, not frozen"
    assert young_rarer == "True", "young collections are rarer than CPython's default"
