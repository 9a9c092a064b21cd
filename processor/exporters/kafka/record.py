"""One Kafka message on its way out, and its on-disk form for the persistent queue."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

KINDS = ("spans", "streams", "anomalies", "trace_costs")  # append only: the index is on disk
_FORMAT = 1
_HEAD = struct.Struct(">BBIH")  # format, kind index, items, topic length


@dataclass(slots=True, eq=False)
class OutgoingRecord:
    kind: str  # spans | streams | anomalies | trace_costs: the label for sent/failed/dropped counts
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    #: What the counters count: spans for a spans message, else 1.
    items: int = 1
    #: Monotonic time it was handed over, for the delivery latency; None when recovered from disk.
    enqueued_at: float | None = None
    #: Set by the queue: the delivery this record belongs to, its disk segment, its retry state.
    delivery: object | None = field(default=None, repr=False)
    segment: int | None = None
    attempts: int = 0
    first_failure: float | None = None

    def to_bytes(self) -> bytes:
        topic = self.topic.encode()
        key = b"" if self.key is None else self.key
        parts = [_HEAD.pack(_FORMAT, KINDS.index(self.kind), self.items, len(topic)), topic,
                 struct.pack(">i", -1 if self.key is None else len(key)), key, struct.pack(">B", len(self.headers))]
        for name, value in self.headers:
            raw = name.encode()
            parts += [struct.pack(">HI", len(raw), len(value)), raw, value]
        parts.append(self.value)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> OutgoingRecord:
        version, kind, items, topic_len = _HEAD.unpack_from(data)
        if version != _FORMAT:
            raise ValueError(f"unknown record format {version}")
        at = _HEAD.size
        topic = data[at:at + topic_len].decode()
        at += topic_len
        (key_len,) = struct.unpack_from(">i", data, at)
        at += 4
        key = None if key_len < 0 else data[at:at + key_len]
        at += max(key_len, 0)
        (count,) = struct.unpack_from(">B", data, at)
        at += 1
        headers = []
        for _ in range(count):
            name_len, value_len = struct.unpack_from(">HI", data, at)
            at += 6
            headers.append((data[at:at + name_len].decode(), data[at + name_len:at + name_len + value_len]))
            at += name_len + value_len
        return cls(KINDS[kind], topic, key, data[at:], tuple(headers), items)

