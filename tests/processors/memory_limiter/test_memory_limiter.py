from __future__ import annotations

import asyncio
import logging

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pydantic import ValidationError

from processor.component import Kind
from processor.errors import RequestTooLarge, RetryableError
from processor.model.batch import Batch, Signal
from processor.processors.memory_limiter import factory
from processor.processors.memory_limiter import monitor as monitor_module
from processor.processors.memory_limiter.config import MemoryLimiterConfig
from processor.processors.memory_limiter.monitor import MemoryMonitor
from processor.processors.memory_limiter.processor import MemoryLimiterProcessor
from processor.processors.memory_limiter.usage import resident_bytes
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer, create_settings

MIB = 2**20


def spans(count: int = 1) -> Batch:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for i in range(count):
        scope.spans.add(name=f"s{i}")
    return Batch(Signal.TRACES, request)


async def consume_until(limiter, accepted: bool, timeout: float = 5.0) -> RetryableError | None:
    """Keeps sending a batch until it is accepted (or refused), as a retrying client would."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                await limiter.consume(spans())
                if accepted:
                    return None
            except RetryableError as exc:
                if not accepted:
                    return exc
            await asyncio.sleep(0.01)


class FakeMemory:
    def __init__(self, mib: int) -> None:
        self.mib = mib

    def __call__(self) -> int:
        return self.mib * MIB


async def test_refuses_above_the_soft_limit_and_recovers(caplog):
    caplog.set_level(logging.INFO)
    config = MemoryLimiterConfig(limit_mib=200, spike_limit_mib=50, check_interval="10ms")
    memory = FakeMemory(100)
    settings = create_settings("memory_limiter", Kind.PROCESSOR, signals=[Signal.TRACES], pipeline="traces")
    sink = SinkConsumer()
    limiter = MemoryLimiterProcessor(settings, config, sink, monitor=MemoryMonitor(config, settings.logger,
                                                                                   read_usage=memory))
    await limiter.start(Host(settings.telemetry))
    try:
        await limiter.consume(spans(3))
        memory.mib = 160  # soft limit is 200 - 50
        error = await consume_until(limiter, accepted=False)
        assert error.retry_after >= 0.01 and "soft limit 150 MiB" in str(error)
        refused = settings.telemetry.registry.get_sample_value(
            "tokenstream_processor_refused_items_total", {"processor": "memory_limiter", "pipeline": "traces"})
        assert refused >= 1
        memory.mib = 120
        await consume_until(limiter, accepted=True)
    finally:
        await limiter.shutdown()
    assert sink.item_count >= 4
    assert "refusing data" in caplog.text and "accepting data" in caplog.text


async def test_hard_limit_forces_garbage_collection(monkeypatch):
    collected = []
    memory = FakeMemory(250)
    monkeypatch.setattr(monitor_module.gc, "collect", lambda: collected.append(True) or setattr(memory, "mib", 180))
    config = MemoryLimiterConfig(limit_mib=200)
    monitor = MemoryMonitor(config, logging.getLogger("test"), read_usage=memory)
    monitor.check()
    assert collected == [True]
    assert monitor.usage == 180 * MIB and monitor.refusing  # still above the soft limit of 160 MiB


async def test_real_process_memory_over_the_limit_is_refused_until_freed():
    start_mib = resident_bytes() // MIB
    config = MemoryLimiterConfig(limit_mib=start_mib + 60, spike_limit_mib=30, check_interval="10ms")
    limiter = factory.create(create_settings("memory_limiter", Kind.PROCESSOR), config, SinkConsumer())
    await limiter.start(Host(SelfTelemetry()))
    try:
        await consume_until(limiter, accepted=True)
        ballast = b"\x01" * (128 * MIB)  # filled, so its pages are resident
        await consume_until(limiter, accepted=False)
        del ballast
        await consume_until(limiter, accepted=True)
    finally:
        await limiter.shutdown()


async def test_instances_of_one_id_share_one_monitor():
    shared: dict = {}
    config = MemoryLimiterConfig(limit_mib=4096, check_interval="10ms")
    traces, logs = (factory.create(create_settings("memory_limiter", Kind.PROCESSOR, signals=[s], shared=shared),
                                   config, SinkConsumer()) for s in (Signal.TRACES, Signal.LOGS))
    assert traces.monitor is logs.monitor
    host = Host(SelfTelemetry())
    await traces.start(host)
    await logs.start(host)
    await traces.shutdown()
    assert traces.monitor._task is not None  # logs still uses it
    await logs.shutdown()
    assert traces.monitor._task is None


def test_spike_must_be_below_the_limit():
    with pytest.raises(ValidationError, match=r"spike_limit_mib \(512\) must be less than limit_mib \(512\)"):
        MemoryLimiterConfig(limit_mib=512, spike_limit_mib=512)
    with pytest.raises(ValidationError, match="spike_limit_percentage .* must be less than limit_percentage"):
        MemoryLimiterConfig(limit_percentage=50, spike_limit_percentage=60)


def test_a_limit_is_required():
    with pytest.raises(ValidationError, match="limit_mib is required"):
        MemoryLimiterConfig()


def test_limits_in_bytes():
    assert MemoryLimiterConfig(limit_mib=100).limits_bytes(0) == (100 * MIB, 80 * MIB)
    assert MemoryLimiterConfig(limit_mib=100, spike_limit_mib=10).limits_bytes(0) == (100 * MIB, 90 * MIB)
    assert MemoryLimiterConfig(limit_percentage=50, spike_limit_percentage=10).limits_bytes(1000 * MIB) == (
        500 * MIB, 400 * MIB)


def test_resident_memory_is_measured():
    assert 1 * MIB < resident_bytes() < 1 << 40


async def test_a_refusal_decision_reads_memory_afresh_between_checks():
    """Requests in an overload come faster than the periodic check: each decision reads memory when the last
    reading is over 10 ms old, so a burst taken between two checks stops once it crosses the soft limit."""
    memory, now = FakeMemory(100), [0.0]
    config = MemoryLimiterConfig(limit_mib=200, spike_limit_mib=50, check_interval="1s")
    limiter = MemoryLimiterProcessor(create_settings("memory_limiter", Kind.PROCESSOR), config, SinkConsumer(),
                                     monitor=MemoryMonitor(config, logging.getLogger("test"), read_usage=memory,
                                                           clock=lambda: now[0]))
    limiter.monitor.check()
    assert limiter.refusal() is None
    memory.mib = 160  # over the soft limit of 150 MiB, with the next check a second away
    now[0] += 0.005
    assert limiter.refusal() is None, "a reading 5 ms old is used as it is"
    now[0] += 0.006
    assert "memory use 160 MiB is above the soft limit 150 MiB" in str(limiter.refusal())
    memory.mib = 120
    now[0] += 0.011
    assert limiter.refusal() is None


async def test_above_the_soft_limit_garbage_is_collected_at_most_every_min_gc_interval(monkeypatch):
    """After an overload, freed requests can sit in reference cycles and in the C heap with RSS over the soft
    limit, refusing data while nothing is held: the check collects them, at most every 10 s (the Collector's
    min_gc_interval_when_soft_limited)."""
    collected, now = [], [0.0]
    memory = FakeMemory(170)
    monkeypatch.setattr(monitor_module.gc, "collect", lambda: collected.append(now[0]) or setattr(memory, "mib", 165))
    monitor = MemoryMonitor(MemoryLimiterConfig(limit_mib=200), logging.getLogger("test"), read_usage=memory,
                            clock=lambda: now[0])
    for _ in range(30):  # 15 s of checks, every 0.5 s, over the soft limit of 160 MiB all along
        monitor.check()
        now[0] += 0.5
    assert collected == [0.0, 10.0]
    assert monitor.refusing
    memory.mib = 150
    monitor.check()
    assert not monitor.refusing


def _limiter(memory: FakeMemory, **config) -> MemoryLimiterProcessor:
    config = MemoryLimiterConfig(**config)
    return MemoryLimiterProcessor(create_settings("memory_limiter", Kind.PROCESSOR), config, SinkConsumer(),
                                  monitor=MemoryMonitor(config, logging.getLogger("test"), read_usage=memory))


def test_a_request_that_could_never_fit_is_refused_for_good_naming_the_limit():
    """One request may reserve at most the spike limit: taken just under the soft limit, it stays under the hard."""
    limiter = _limiter(FakeMemory(100), limit_mib=512)
    with pytest.raises(RequestTooLarge) as refused:
        limiter.reserve(103 * MIB)
    message = str(refused.value)
    assert "about 103 MiB once decoded" in message and "102 MiB" in message and "spike_limit_mib" in message
    limiter.reserve(102 * MIB).release()


def test_reservations_count_as_memory_in_use_until_released():
    """Two requests being decoded at once: what the first reserved leaves no room for the second, and holds the
    soft limit for every other request as memory in use would; released, both are free again."""
    memory = FakeMemory(100)
    limiter = _limiter(memory, limit_mib=200, spike_limit_mib=80)  # soft limit 120 MiB
    first = limiter.reserve(60 * MIB)
    with pytest.raises(RetryableError, match="60 MiB reserved for requests being decoded"):
        limiter.reserve(50 * MIB)  # 100 + 60 + 50 > 200
    assert "reserved for requests being decoded" in str(limiter.refusal())  # 100 + 60 >= 120
    first.release()
    first.release()  # once only
    assert limiter.monitor.reserved == 0 and limiter.refusal() is None
    limiter.reserve(50 * MIB).release()


def test_a_reservation_reads_memory_afresh_when_released():
    memory, now = FakeMemory(100), [0.0]
    config = MemoryLimiterConfig(limit_mib=200, spike_limit_mib=50)
    monitor = MemoryMonitor(config, logging.getLogger("test"), read_usage=memory, clock=lambda: now[0])
    reservation = monitor.reserve(40 * MIB)
    memory.mib = 152  # the request decoded: its memory is in use now, over the soft limit of 150 MiB
    reservation.release()
    assert monitor.reserve(10 * MIB) is None  # read at once, not 10 ms later


def test_a_small_reservation_released_counts_as_in_use_until_the_next_reading():
    """Memory is not read afresh after every small request (a system call each): what it reserved counts as in use
    until the next reading, so a decision right after its release is as careful as one while it was held."""
    memory, now, readings = FakeMemory(149), [0.0], []
    config = MemoryLimiterConfig(limit_mib=200, spike_limit_mib=50)  # soft limit 150 MiB, request budget 50 MiB

    def read() -> int:
        readings.append(now[0])
        return memory()

    monitor = MemoryMonitor(config, logging.getLogger("test"), read_usage=read, clock=lambda: now[0])
    monitor.check()
    reservation = monitor.reserve(2 * MIB)
    assert monitor.refusing_now()  # 149 + 2 reserved
    reservation.release()
    assert monitor.refusing_now(), "released, its 2 MiB count as in use until memory is read again"
    assert monitor.reserve(MIB) is None
    assert readings == [0.0]
    now[0] += 0.011  # the reading is stale: read again, and the request's memory was freed
    assert not monitor.refusing_now()
    assert readings == [0.0, 0.011]
