"""One export request on its way out, and its on-disk form for the persistent sending queue (exporterhelper)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from processor.model.batch import Signal

#: What the sent/failed/dropped counters call an item of each signal (as the file exporter does).
ITEM_KIND = {Signal.TRACES: "spans", Signal.LOGS: "log_records", Signal.METRICS: "metric_points"}
_SIGNALS = (Signal.TRACES, Signal.LOGS, Signal.METRICS)  # append only: the index is on disk
_FORMAT = 1
_HEAD = struct.Struct(">BBI")  # format, signal index, items


@dataclass(slots=True, eq=False)
class Pieces:
    """A queued request the backend refused as too large, cut into `left` pieces still to settle."""

    whole: QueuedRequest
    left: int


@dataclass(slots=True, eq=False)
class QueuedRequest:
    signal: Signal
    body: bytes  # the encoded Export<Signal>ServiceRequest
    items: int
    #: Monotonic time it was handed over, for the delivery latency; None when recovered from disk.
    enqueued_at: float | None = None
    #: Set by the exporter and the queue: the consume call waiting for it, its disk segment, its retry state.
    delivery: object | None = field(default=None, repr=False)
    segment: int | None = None
    attempts: int = 0
    first_failure: float | None = None
    #: For a piece of a request cut after a "too large" answer: the whole, settled when every piece is.
    part_of: Pieces | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return ITEM_KIND[self.signal]

    def to_bytes(self) -> bytes:
        return _HEAD.pack(_FORMAT, _SIGNALS.index(self.signal), self.items) + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> QueuedRequest:
        version, signal, items = _HEAD.unpack_from(data)
        if version != _FORMAT:
            raise ValueError(f"unknown request format {version}")
        return cls(_SIGNALS[signal], data[_HEAD.size:], items)
