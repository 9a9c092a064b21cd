"""What a scenario measures from outside the process: spans on the topic, RSS, and scraped metrics."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer

from tests.reliability.traffic import SpanKey, span_keys

MIB = 1 << 20


@dataclass
class Delivery:
    lost: int
    duplicated: int
    delivered: int


async def spans_on_topic(bootstrap: str, topic: str, expected: int, *, timeout: float = 60.0,
                         settle: float = 2.0) -> Counter[SpanKey]:
    """Every span on the spans topic, counted by key. Reads until `expected` distinct spans are seen and nothing
    new came for `settle` seconds (so duplicates show up too), or until `timeout`."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, request_timeout_ms=10000,
                                max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    seen: Counter[SpanKey] = Counter()
    clock = asyncio.get_running_loop().time
    deadline = clock() + timeout
    last_new = clock()
    try:
        while clock() < deadline and (len(seen) < expected or clock() - last_new < settle):
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            for batch in batches.values():
                for record in batch:
                    seen.update(span_keys(record.value))
                    last_new = clock()
    finally:
        await consumer.stop()
    return seen


def compare(acknowledged: list[SpanKey], seen: Counter[SpanKey]) -> Delivery:
    wanted = set(acknowledged)
    lost = sum(1 for key in wanted if key not in seen)
    duplicated = sum(count - 1 for key, count in seen.items() if key in wanted and count > 1)
    return Delivery(lost=lost, duplicated=duplicated, delivered=len(wanted) - lost)


class RssSampler:
    """Samples a process's VmRSS from /proc every `interval` seconds, in a thread, and keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = vm_rss(self.pid)
            if rss is None:
                return
            self.peak = max(self.peak, rss)
            self.samples += 1
            self._stop.wait(self.interval)


def vm_rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def scrape(port: int, *, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
        return response.read().decode()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", re.M)


def samples(text: str, name: str) -> list[tuple[str, float]]:
    """(labels text, value) of every sample of metric `name` (exact sample name, e.g. `x_total`)."""
    return [(m.group(2) or "", float(m.group(3))) for m in _SAMPLE.finditer(text) if m.group(1) == name]


def metric_total(text: str, name: str) -> float:
    return sum(value for _, value in samples(text, name))


def wait_until(predicate, *, timeout: float, interval: float = 0.2) -> float | None:
    """Seconds until `predicate()` held, or None if it did not within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    return None
