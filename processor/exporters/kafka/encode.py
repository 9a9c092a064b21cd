"""A batch -> the Kafka records it makes: spans messages (one per trace by default), one record per
stream record, per anomaly and per trace cost rollup. Keys are trace ids as 32 lowercase hex characters."""

from __future__ import annotations

from binascii import hexlify  # a trace id's key: its 32 lowercase hex characters, as bytes
from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor import wire
from processor.errors import SpanKey
from processor.exporters.kafka.config import KafkaExporterConfig
from processor.exporters.kafka.decoded_by_trace import encode_by_trace
from processor.exporters.kafka.record import OutgoingRecord
from processor.exporters.kafka.split import by_trace, fit
from processor.kafka import headers as h
from processor.model import otlp_json
from processor.model.batch import Batch, Signal, count_items, span_keys
from processor.model.records import to_json_bytes

#: Room left in max_message_bytes for the record's key, headers and framing.
_RECORD_OVERHEAD = 256


class RecordEncoder:
    def __init__(self, config: KafkaExporterConfig) -> None:
        self.topics = config.topics
        self.partition_by_trace_id = config.partition_by_trace_id
        self.limit = config.max_message_bytes - _RECORD_OVERHEAD
        if config.encoding.spans == "otlp_json":
            self.encode_spans: Callable = otlp_json.encode
            self.spans_headers = h.make_headers(h.JSON, h.SPANS_SCHEMA)
        else:
            self.encode_spans = _serialize
            self.spans_headers = h.make_headers(h.PROTOBUF, h.SPANS_SCHEMA)
        json_records = config.encoding.records == "json"
        self.encode_record = to_json_bytes if json_records else _serialize
        content_type = h.JSON if json_records else h.PROTOBUF
        self.stream_headers = h.make_headers(content_type, h.STREAM_SCHEMA)
        self.anomaly_headers = h.make_headers(content_type, h.ANOMALY_SCHEMA)
        self.trace_cost_headers = h.make_headers(content_type, h.TRACE_COST_SCHEMA)

    def records(self, batch: Batch) -> list[OutgoingRecord]:
        out: list[OutgoingRecord] = []
        if self.topics.spans and batch.signal is Signal.TRACES:
            out += self._spans(batch)
        if self.topics.streams:
            out += [OutgoingRecord("streams", self.topics.streams, r.trace_id.hex().encode(), self.encode_record(r),
                                   self.stream_headers) for r in batch.streams]
        if self.topics.anomalies:
            out += [OutgoingRecord("anomalies", self.topics.anomalies, a.trace_id.hex().encode(),
                                   self.encode_record(a), self.anomaly_headers) for a in batch.anomalies]
        if self.topics.trace_costs:  # per-trace rollups of the trace_cost processor
            out += [OutgoingRecord("trace_costs", self.topics.trace_costs, c.trace_id.hex().encode(),
                                   self.encode_record(c), self.trace_cost_headers)
                    for c in batch.trace_costs]
        return out

    def _spans(self, batch: Batch) -> list[OutgoingRecord]:
        if self.partition_by_trace_id and self.encode_spans is _serialize:
            return self._spans_by_trace(batch.index()) if not batch.decoded else self._spans_of_request(batch.request)
        request = batch.request
        if self.partition_by_trace_id:
            keyed = [(trace_id.hex().encode(), part) for trace_id, part in by_trace(request).items()]
        elif count_items(Signal.TRACES, request):
            traces = by_trace_ids(request)
            keyed = [(next(iter(traces)).hex().encode() if len(traces) == 1 else None, request)]
        else:
            keyed = []
        return [OutgoingRecord("spans", self.topics.spans, key, data, self.spans_headers,
                               count_items(Signal.TRACES, piece))
                for key, part in keyed for piece, data in fit(part, self.encode_spans, self.limit)]


    def _spans_by_trace(self, index: wire.TraceIndex) -> list[OutgoingRecord]:
        """Per-trace records written by the wire core from the request's bytes (spans, resources and scopes copied,
        nothing decoded); a trace over the record limit is cut into pieces that fit (one span over it stays whole,
        for `fits` to find)."""
        parts = wire.by_trace(index)
        topic, headers, limit = self.topics.spans, self.spans_headers, self.limit
        out = [OutgoingRecord("spans", topic, hexlify(trace_id), data, headers, count)
               for trace_id, data, count in parts if len(data) <= limit]
        if len(out) == len(parts):  # the usual case: every trace fits in one record
            return out
        out = []
        for trace_id, data, count in parts:
            key = hexlify(trace_id)
            if len(data) <= limit:
                out.append(OutgoingRecord("spans", topic, key, data, headers, count))
                continue
            pieces = wire.scan_traces(data)
            out += [OutgoingRecord("spans", topic, key, piece, headers, spans)
                    for piece, spans in wire.split(pieces, range(len(pieces)), limit)]
        return out

    def _spans_of_request(self, request) -> list[OutgoingRecord]:
        """The same from a decoded request: each span serialized once (decoded_by_trace.py)."""
        out = []
        for trace_id, (data, count) in encode_by_trace(request).items():
            key = trace_id.hex().encode()
            if len(data) <= self.limit:
                out.append(OutgoingRecord("spans", self.topics.spans, key, data, self.spans_headers, count))
                continue
            pieces = wire.scan_traces(data)
            out += [OutgoingRecord("spans", self.topics.spans, key, piece, self.spans_headers, spans)
                    for piece, spans in wire.split(pieces, range(len(pieces)), self.limit)]
        return out

    def fits(self, record: OutgoingRecord) -> bool:
        """Whether Kafka can take `record`: what `fit` could not cut below the limit (one span) cannot be sent."""
        return len(record.value) <= self.limit

    def too_large(self, records: list[OutgoingRecord]) -> list[OutgoingRecord]:
        """The records of `records` that do not `fit`."""
        limit = self.limit
        return [record for record in records if len(record.value) > limit]

    def span_keys(self, record: OutgoingRecord) -> set[SpanKey]:
        """The spans in a spans record (read back from its value: only asked for records that failed)."""
        if record.kind != "spans":
            return set()
        if self.encode_spans is _serialize:
            request = ExportTraceServiceRequest.FromString(record.value)
        else:
            request = otlp_json.decode(Signal.TRACES, record.value)
        return span_keys(request.resource_spans)


def by_trace_ids(request) -> set[bytes]:
    return {span.trace_id for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans}


def _serialize(message) -> bytes:
    return message.SerializeToString()
