"""The file exporter: JSON Lines, for spans (OTLP/JSON requests), stream records or anomalies.

Encoding and writing happen in a worker thread, so a slow disk does not stall the event loop.
With flush_interval 0, `consume` returns once the batch is written (to the OS), so a failing disk
fails the request upstream; with a flush_interval, lines wait in memory (up to _MAX_BUFFERED bytes,
then consume writes them itself) and a background task writes them. Shutdown writes what is left and fsyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path

from processor.component import ComponentBase, CreateSettings
from processor.errors import RetryableError
from processor.exporters.file.config import FileConfig
from processor.exporters.file.writer import JsonLinesFile
from processor.model import otlp_json, records
from processor.model.batch import Batch, Signal

_MAX_BUFFERED = 16 * 2**20
_OTLP_LABEL = {Signal.TRACES: "spans", Signal.LOGS: "log_records", Signal.METRICS: "metric_points"}


class FileExporter(ComponentBase):
    def __init__(self, settings: CreateSettings, config: FileConfig) -> None:
        self.id = str(settings.id)
        self.log = settings.logger
        self.kind = "spans" if config.kind == "otlp" else config.kind
        self.flush_interval = config.flush_interval
        self.file = JsonLinesFile(Path(config.path), config.rotation)
        self.sent = settings.telemetry.exporter_sent
        self.failed = settings.telemetry.exporter_failed
        self._lock = asyncio.Lock()  # one write at a time: lines of two batches never interleave
        self._buffered: list[bytes] = []
        self._buffered_counts: Counter[str] = Counter()
        self._buffered_bytes = 0
        self._flusher: asyncio.Task | None = None

    async def start(self, host) -> None:
        await asyncio.to_thread(self.file.open)  # fails start-up, not the first batch, on a bad path
        if self.flush_interval > 0:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_periodically(), name=f"{self.id}.flush")

    async def consume(self, batch: Batch) -> None:
        data, count = await asyncio.to_thread(self._encode, batch)
        if not data:
            return
        label = _OTLP_LABEL[batch.signal] if self.kind == "spans" else self.kind
        if self.flush_interval <= 0:
            return await self._write(data, Counter({label: count}))
        self._buffered.append(data)
        self._buffered_counts[label] += count
        self._buffered_bytes += len(data)
        if self._buffered_bytes >= _MAX_BUFFERED:
            await self._flush()

    def _encode(self, batch: Batch) -> tuple[bytes, int]:
        """The batch's lines for this exporter's kind, and how many records they hold."""
        if self.kind == "spans":
            items = batch.item_count()
            return (otlp_json.encode(batch.request) + b"\n", items) if items else (b"", 0)
        chosen = batch.streams if self.kind == "streams" else batch.anomalies
        return b"".join(records.to_json_bytes(r) + b"\n" for r in chosen), len(chosen)

    async def _write(self, data: bytes, counts: Counter[str]) -> None:
        async with self._lock:
            try:
                await asyncio.to_thread(self.file.write, data)
            except OSError as exc:
                for label, count in counts.items():
                    self.failed.labels(self.id, label).inc(count)
                raise RetryableError(f"could not write {self.file.path}: {exc.strerror or exc}") from exc
        for label, count in counts.items():
            self.sent.labels(self.id, label).inc(count)

    async def _flush(self) -> None:
        if not self._buffered:
            return
        data, counts = b"".join(self._buffered), self._buffered_counts
        self._buffered, self._buffered_counts, self._buffered_bytes = [], Counter(), 0
        await self._write(data, counts)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self._flush()
            except RetryableError as exc:
                self.log.error("dropped buffered lines: %s", exc)

    async def shutdown(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        try:
            await self._flush()
        finally:
            async with self._lock:
                await asyncio.to_thread(self.file.close)
