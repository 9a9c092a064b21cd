"""What one poll returned, as the batch handed downstream and the offsets to commit once it was taken.

Records that cannot be decoded are reported once, left out of the batch, and still committed past: a bad
record must never hold its partition forever. The good records' bytes are joined (a protobuf merge of their
requests) and handed on as a batch of bytes with their indexes concatenated, a fresh batch per attempt
(processors change the batch they are given, so a failed attempt's batch is not the original any more).
"""

from __future__ import annotations

from collections.abc import Callable

from aiokafka.structs import ConsumerRecord, TopicPartition
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import CollectorRegistry, Counter

from processor import wire
from processor.model.batch import Batch, Signal
from processor.receivers.kafka.decode import UndecodableRecord, read
from processor.service.telemetry import shared_counter
from processor.wire import TraceIndex
from processor.wire.claims import NO_MEMBERS, ClaimsSet

Records = dict[TopicPartition, list[ConsumerRecord]]


def undecodable_counter(registry: CollectorRegistry) -> Counter:
    """One counter per telemetry registry, however many kafka receivers share it."""
    return shared_counter(registry, "tokenstream_receiver_undecodable_records", "Kafka records a receiver skipped "
                          "because they are not OTLP trace requests (committed past).", ["receiver"])


class PolledBatch:
    def __init__(self, records: Records, generation: int, encoding: str,
                 on_undecodable: Callable[[list[tuple[ConsumerRecord, UndecodableRecord]]], None],
                 span_claims: ClaimsSet = NO_MEMBERS) -> None:
        #: The group generation (see KafkaReceiver) the records were fetched in.
        self.generation = generation
        self.offsets = {tp: batch[-1].offset + 1 for tp, batch in records.items() if batch}
        good: list[bytes] = []
        indexes: list[TraceIndex] = []
        self.span_count = 0
        bad: list[tuple[ConsumerRecord, UndecodableRecord]] = []
        if wire.IMPLEMENTATION != "native":
            span_claims = NO_MEMBERS  # decoded below: claimed spans would not be read from the index
        for batch in records.values():
            for record in batch:
                try:
                    index = read(record.value, record.headers, encoding, span_claims)
                except UndecodableRecord as exc:
                    bad.append((record, exc))
                    continue
                good.append(index.buf)
                indexes.append(index)
                self.span_count += len(index)
        if bad:
            on_undecodable(bad)
        self.record_count = len(good)
        #: Every good record's request, merged: one encoded ExportTraceServiceRequest, and its index.
        self.data = b"".join(good)
        self._index = TraceIndex.concat(indexes) if indexes else None

    def batch(self) -> Batch:
        """The batch to hand downstream, fresh for each attempt: the joined bytes, as the otlp receiver hands them
        on. Decoded instead on the pure-Python path, and when a span's ids are invalid (the edge tier's Collector
        may have passed one on): the wire core's writers leave such spans out, while a decoded batch carries them."""
        index = self._index
        if index is None or wire.IMPLEMENTATION != "native" or index.invalid_rows():
            return Batch(Signal.TRACES, ExportTraceServiceRequest.FromString(self.data))
        return Batch.of_bytes(self.data, index)
