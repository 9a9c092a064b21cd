"""Synthetic traffic for the slo tests: one stream a second on a route, with a TTFT that shifts at known times."""

from __future__ import annotations

import random

from processor.component import Kind
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord
from processor.processors.slo import factory
from processor.testing import SinkConsumer, create_settings

T0 = 1_700_000_000 * 10**9
S = 10**9


def make_slo(**config):
    sink = SinkConsumer()
    processor = factory.create(create_settings("slo", Kind.PROCESSOR), factory.config_model.model_validate(config),
                               sink)
    return processor, sink


def traffic(phases: list[tuple[int, float]], *, route: str = "/v1/chat", model: str = "gpt-4o", seed: int = 7):
    """One record a second: `phases` are (seconds, typical ttft); each TTFT is typical x uniform(0.8, 1.2)."""
    rng = random.Random(seed)
    records, second = [], 0
    for seconds, ttft in phases:
        for _ in range(seconds):
            value = ttft * rng.uniform(0.8, 1.2)
            start = T0 + second * S
            records.append(StreamRecord(trace_id=rng.randbytes(16), span_id=rng.randbytes(8), route=route,
                                        request_model=model, ttft_s=value, start_time_unix_nano=start,
                                        end_time_unix_nano=start + int((value + 2) * S)))
            second += 1
    return records


async def feed(processor, records, per_batch: int = 10) -> None:
    for i in range(0, len(records), per_batch):
        await processor.consume(Batch(Signal.TRACES, Batch.empty(Signal.TRACES).request,
                                      streams=records[i:i + per_batch]))
