"""Python's cyclic GC in a running service, set once when it has started (`after_start`).

What is alive once the graph has started (modules, classes, functions, the components and their settings: ~70k
GC-tracked objects) stays alive for the life of the process, yet every full collection looked at all of it again:
most of each full collection's pause (~100 ms on a busy 2-core host, the llm workload's p99 receipt-to-ack at half
rate). `gc.freeze()` moves it to the permanent generation, which collections do not look at; what is created later
is collected as before. A cycle among frozen objects that becomes garbage is never freed: start-up leaves none
worth keeping, as it is collected first.
"""

from __future__ import annotations

import gc


def after_start() -> None:
    gc.collect()  # start-up's own garbage, so that it is not frozen with the rest
    gc.freeze()
