"""A fixed, seeded loadgen run through the same processors: `mixed` traffic (reconnects, feedback as span events and
log records, slow first tokens) for 30 simulated seconds, on the fake clock, so that the trace-level processors
(slo, reconnect, feedback, trace_cost) see what no single capture holds."""

from __future__ import annotations

import random
from typing import Any

from processor.config.validate import Config
from processor.loadgen.spans import CHUNK_TEXT_KEY
from processor.loadgen.traffic import Traffic
from processor.model.batch import Signal
from tests.golden.drive import START_S, Chain, FakeClock, default_config, frozen, outputs, received

SEED, PROFILE, RATE, SECONDS = 7, "mixed", 5.0, 30.0
#: As `tokenstream loadgen` sends: one request of rate/10 new streams (plus due reconnects) every 0.1 s.
TICK_S = 0.1
#: The loadgen's unix-ns clock at the fake clock's start: 2026-01-01T00:00:00Z.
START_NS = 1_767_225_600 * 10**9


async def replay_loadgen(config: Config | None = None) -> list[dict[str, Any]]:
    clock = FakeClock()
    traffic = Traffic(PROFILE, random.Random(SEED), CHUNK_TEXT_KEY,
                      clock=lambda: START_NS + round((clock.now - START_S) * 1e9))
    with frozen(clock):
        chain = Chain(config or default_config(), clock)
        owed = 0.0
        for _ in range(round(SECONDS / TICK_S)):
            owed += RATE * TICK_S
            streams, owed = int(owed), owed - int(owed)
            tick = traffic.tick(streams)
            for builder in tick.traces:  # as a receiver hands them on, from the bytes sent
                await chain.heads[Signal.TRACES].consume(received(Signal.TRACES, builder.request.SerializeToString()))
            if len(tick.logs):
                await chain.heads[Signal.LOGS].consume(received(Signal.LOGS, tick.logs.request.SerializeToString()))
            clock.now += TICK_S
        clock.now += 3_600
        await chain.shutdown()
    return [line for signal, sink in chain.sinks.items() for batch in sink.batches for line in outputs(signal, batch)]
