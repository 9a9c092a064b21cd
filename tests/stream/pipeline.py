"""The real `stream` processor built for tests: sections configured as a user writes them, with the test convention
(tests.stream.builders) or the real adapters, and a traces and a logs instance of one component id sharing state as
the service builds them."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from unittest import mock

from processor.component import Kind
from processor.model.batch import Batch, Signal
from processor.processors.stream import processor as stream_module
from processor.processors.stream.config import StreamConfig
from processor.processors.stream.processor import StreamProcessor
from processor.testing import SinkConsumer, create_settings
from tests.stream.builders import AttrConvention, read_with


def stream(next_consumer, *, signals=(Signal.TRACES,), shared: dict | None = None, telemetry=None,
           conventions=None, read=read_with, **config: Any) -> StreamProcessor:
    """A `stream` processor from `config` as a user writes it (e.g. `cadence={"stall_gap": "1s"}`, `cost=False`)."""
    settings = create_settings("stream", Kind.PROCESSOR, signals=signals, shared=shared, telemetry=telemetry)
    parsed = StreamConfig.model_validate({"max_traces": 100, **config})
    return StreamProcessor(settings, parsed, next_consumer, conventions=conventions or [AttrConvention()], read=read)


def sections(*, stall_gap: float = 2.0, prices: dict | None = None, content_check: Any = False) -> dict[str, Any]:
    """Cadence (stall_gap), retries, truncation and cost (prices) on; the content check only when given its section,
    as a pipeline that does not compare text runs it."""
    return {"cadence": {"stall_gap": stall_gap}, "cost": {"prices": prices or {}}, "content_check": content_check}


def default_chain(sink, *, stall_gap: float = 2.0, prices: dict | None = None, content_check: Any = False,
                  **options: Any) -> StreamProcessor:
    """The stream processor with `sections`, for traces."""
    return stream(sink, **{**sections(stall_gap=stall_gap, prices=prices, content_check=content_check), **options})


def logs_instance(next_consumer=None, *, shared: dict, **options: Any) -> StreamProcessor:
    """The same component id in a logs pipeline: joins gen_ai logs into the calls the traces instance holds."""
    return stream(next_consumer or SinkConsumer(), signals=(Signal.LOGS,), shared=shared, **options)


class Clock:
    """What the stream processor reads as time.monotonic() inside `frozen`."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextmanager
def frozen(clock: Clock):
    """The stream processor reads time.monotonic() itself: give its module the fake clock instead, so a `wait`
    expires when the test says and not when a loaded machine is slow."""
    with mock.patch.object(stream_module, "time", SimpleNamespace(monotonic=clock)):
        yield clock


async def replay_capture(capture, conventions, read, *, stall_gap: float = 1.0, as_bytes: bool = False,
                         **config: Any) -> SinkConsumer:
    """A capture's traces then logs through one stream component id in a traces and a logs pipeline; shutdown
    emits the records into the returned sink. `as_bytes`: trace requests go in encoded, as the receivers pass them
    on (the spans read from the wire core's scan); else decoded, and enriched in place."""
    sink, shared = SinkConsumer(), {}
    options = {**sections(stall_gap=stall_gap), **config, "conventions": conventions, "read": read}
    head = stream(sink, shared=shared, **options)
    logs = logs_instance(shared=shared, **options)
    for request in capture.traces:
        await head.consume(Batch.of_bytes(request.SerializeToString()) if as_bytes else Batch(Signal.TRACES, request))
    for request in capture.logs:
        await logs.consume(Batch(Signal.LOGS, request))
    await head.shutdown()
    return sink
