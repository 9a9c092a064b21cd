"""Python's cyclic GC in a running service, set once when it has started (`after_start`).

What is alive once the graph has started (modules, classes, functions, the components and their settings: ~70k
GC-tracked objects) stays alive for the life of the process, yet every full collection looked at all of it again:
most of each full collection's pause (~100 ms on a busy 2-core host, the llm workload's p99 receipt-to-ack at half
rate; ~12% of the CPU on ordinary spans). `gc.freeze()` moves it to the permanent generation, which collections do
not look at; what is created later is collected as before. A cycle among frozen objects that becomes garbage is
never freed: start-up leaves none worth keeping, as it is collected first.

Young collections come every YOUNG_THRESHOLD allocations instead of CPython's 700: records on their way to Kafka
live for a batch's timeout and its acknowledgement, thousands of allocations, and at 700 each young collection
walked them and moved them on to be walked again in the middle generation (GC ~9% -> ~4% of the CPU on ordinary
spans, gc.callbacks timing).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def after_start() -> None:
    gc.collect()  # start-up's own garbage, so that it is not frozen with the rest
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
