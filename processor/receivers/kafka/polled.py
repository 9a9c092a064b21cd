"""What one poll returned, as the batch handed downstream and the offsets to commit once it was taken.

Records that cannot be decoded are reported once, left out of the batch, and still committed past: a bad
record must never hold its partition forever. The good records' bytes are joined (a protobuf merge of their
requests) and decoded once per attempt: a retry gets a fresh batch (processors change the batch they are given,
so a failed attempt's batch is not the original any more).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from aiokafka.structs import ConsumerRecord, TopicPartition
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import CollectorRegistry, Counter

from processor.model.batch import Batch, Signal
from processor.receivers.kafka.decode import UndecodableRecord, read

Records = dict[TopicPartition, list[ConsumerRecord]]
_undecodable: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def undecodable_counter(registry: CollectorRegistry) -> Counter:
    """One counter per telemetry registry, however many kafka receivers share it."""
    if registry not in _undecodable:
        _undecodable[registry] = Counter(
            "tokenstream_receiver_undecodable_records",
            "Kafka records a receiver skipped because they are not OTLP trace requests (committed past).",
            ["receiver"], registry=registry)
    return _undecodable[registry]


class PolledBatch:
    def __init__(self, records: Records, generation: int, encoding: str,
                 on_undecodable: Callable[[list[tuple[ConsumerRecord, UndecodableRecord]]], None]) -> None:
        #: The group generation (see KafkaReceiver) the records were fetched in.
        self.generation = generation
        self.offsets = {tp: batch[-1].offset + 1 for tp, batch in records.items() if batch}
        good: list[bytes] = []
        self.span_count = 0
        bad: list[tuple[ConsumerRecord, UndecodableRecord]] = []
        for batch in records.values():
            for record in batch:
                try:
                    index = read(record.value, record.headers, encoding)
                except UndecodableRecord as exc:
                    bad.append((record, exc))
                    continue
                good.append(index.buf)
                self.span_count += len(index)
        if bad:
            on_undecodable(bad)
        self.record_count = len(good)
        #: Every good record's request, merged: one encoded ExportTraceServiceRequest.
        self.data = b"".join(good)

    def batch(self) -> Batch:
        """The batch to hand downstream, freshly decoded for each attempt."""
        return Batch(Signal.TRACES, ExportTraceServiceRequest.FromString(self.data))
