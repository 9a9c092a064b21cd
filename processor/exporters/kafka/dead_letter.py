"""The dead-letter file: records Kafka will never take, kept as JSON Lines instead of being dropped.

One line per record, e.g.
`{"time_unix_nano": 1764, "exporter": "kafka", "reason": "...", "kind": "spans", "items": 1, "topic": "llm.spans",
"key": "<trace id hex>", "schema": "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest", "value": {...}}`.
`value` is the record as JSON whatever the topic's encoding: OTLP JSON for spans (what the file exporter writes and
the Collector's otlpjsonfile receiver reads), the JSON form for stream records, anomalies and trace costs. So
`jq -c 'select(.kind == "spans") | .value' dead-letter.jsonl` gives the spans back, one request per line.

Lines are appended and fsync'd before `write` returns; writers that arrive while one writes are written together
after it (one fsync for all of them). Past `max_size` the file takes nothing more.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.exporters.kafka.record import OutgoingRecord
from processor.kafka import headers as h
from processor.model import otlp_json
from processor.model.gen.tokenstream.v1.stream_pb2 import StreamAnomaly, StreamRecord, TraceCost
from processor.model.records import to_json_dict

_MESSAGES = {h.SPANS_SCHEMA: ExportTraceServiceRequest, h.STREAM_SCHEMA: StreamRecord,
             h.ANOMALY_SCHEMA: StreamAnomaly, h.TRACE_COST_SCHEMA: TraceCost}


class DeadLetter:
    def __init__(self, path: Path, *, max_size: int, exporter: str) -> None:
        self.path = path
        self.max_size = max_size
        self.exporter = exporter
        self.size = 0
        self._pending: list[tuple[bytes, asyncio.Future]] = []
        self._lock = asyncio.Lock()

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = self.path.stat().st_size if self.path.exists() else 0

    async def write(self, records: list[OutgoingRecord], reason: str) -> list[OutgoingRecord]:
        """Keep `records`; returns those written (the others did not fit under max_size). Raises OSError."""
        now = time.time_ns()
        lines = [(record, _line(record, reason, self.exporter, now)) for record in records]
        kept = []
        for record, line in lines:
            if self.size + len(line) <= self.max_size:
                self.size += len(line)  # reserved now, so that concurrent writers cannot pass the limit together
                kept.append((record, line))
        if not kept:
            return []
        done = asyncio.get_running_loop().create_future()
        self._pending.append((b"".join(line for _, line in kept), done))
        async with self._lock:
            if self._pending:  # else an earlier writer took these lines along with its own
                batch, self._pending = self._pending, []
                try:
                    await asyncio.to_thread(self._append, b"".join(data for data, _ in batch))
                except OSError as exc:
                    for _, waiter in batch:
                        waiter.set_exception(exc)
                else:
                    for _, waiter in batch:
                        waiter.set_result(None)
        await done
        return [record for record, _ in kept]

    def _append(self, data: bytes) -> None:
        with self.path.open("ab") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())


def _line(record: OutgoingRecord, reason: str, exporter: str, now: int) -> bytes:
    schema = h.header(record.headers, h.SCHEMA) or ""
    entry = {"time_unix_nano": now, "exporter": exporter, "reason": reason, "kind": record.kind, "items": record.items,
             "topic": record.topic, "key": None if record.key is None else record.key.decode(errors="replace"),
             "schema": schema, "value": _value(record, schema)}
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _value(record: OutgoingRecord, schema: str) -> Any:
    if h.header(record.headers, h.CONTENT_TYPE) == h.JSON:
        return json.loads(record.value)
    message = _MESSAGES[schema].FromString(record.value)
    if schema == h.SPANS_SCHEMA:
        return json.loads(otlp_json.encode(message))
    return to_json_dict(message)
