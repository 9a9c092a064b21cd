"""What one poll returned, as the batch handed downstream and the offsets to commit once it was taken.

Records that cannot be decoded are reported once, left out of the batch, and still committed past: a bad
record must never hold its partition forever. A retry builds the batch again from the records (processors
change the batch they are given, so a failed attempt's batch is not the original any more).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from aiokafka.structs import ConsumerRecord, TopicPartition
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import CollectorRegistry, Counter

from processor.model.batch import Batch, Signal, count_items
from processor.receivers.kafka.decode import UndecodableRecord, decode

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
        self.encoding = encoding
        self._good: list[ConsumerRecord] = []
        self._first: ExportTraceServiceRequest | None = ExportTraceServiceRequest()
        bad: list[tuple[ConsumerRecord, UndecodableRecord]] = []
        for batch in records.values():
            for record in batch:
                try:
                    request = decode(record.value, record.headers, encoding)
                except UndecodableRecord as exc:
                    bad.append((record, exc))
                    continue
                self._good.append(record)
                self._first.resource_spans.extend(request.resource_spans)
        if bad:
            on_undecodable(bad)
        self.span_count = count_items(Signal.TRACES, self._first)
        self.record_count = len(self._good)

    def batch(self) -> Batch:
        """The batch to hand downstream: the decoded one first, a freshly decoded one for each retry."""
        request, self._first = self._first, None
        if request is None:
            request = ExportTraceServiceRequest()
            for record in self._good:
                request.resource_spans.extend(decode(record.value, record.headers, self.encoding).resource_spans)
        return Batch(Signal.TRACES, request)
