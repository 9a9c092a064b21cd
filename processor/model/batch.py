"""The unit of data that flows through a pipeline.

A traces batch keeps the OTLP export request as the bytes it came in, read through the wire core's index
(processor.wire); a component that needs messages decodes it once (`Batch.request`). What the `stream` processor
derives (stream records, anomalies, chunk arrivals), and other processors theirs (trace costs, SLO status,
feedback), travel on the same batch as typed lists, and exporters pick the parts they write.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor import wire  # scan_traces is looked up when called: processor.wire imports processor.model too
from processor.model.chunks import StreamChunks
from processor.model.gen.tokenstream.v1.stream_pb2 import SloStatus, StreamFeedback, TraceCost
from processor.wire.claims import NO_CLAIMS, Claims
from processor.wire.index import SPAN_IDS, TraceIndex


class Signal(StrEnum):
    TRACES = "traces"
    LOGS = "logs"
    METRICS = "metrics"


REQUEST_TYPES: dict[Signal, type] = {
    Signal.TRACES: ExportTraceServiceRequest,
    Signal.LOGS: ExportLogsServiceRequest,
    Signal.METRICS: ExportMetricsServiceRequest,
}


class Batch:
    """One signal's data and what the processors derived from it.

    A traces batch from a receiver holds the request as its bytes (`data`) and reads them through the wire core's
    index (`index`): an ordinary span is never decoded. `request` is the decoded upb message, made at most once,
    for a component that reads or edits spans as messages; since it may be edited in place, the bytes are dropped
    once it is asked for, and made again from it when next needed. Logs and metrics batches hold a request.
    """

    __slots__ = ("signal", "streams", "anomalies", "chunks", "trace_costs", "slo_status", "feedback", "received_ns",
                 "_request", "_data", "_indexes", "_added", "_merged")

    def __init__(self, signal: Signal, request: Any = None, streams: list[Any] | None = None,
                 anomalies: list[Any] | None = None, received_ns: list[int] | None = None, *,
                 data: bytes | None = None, chunks: list[StreamChunks] | None = None,
                 trace_costs: list[TraceCost] | None = None, slo_status: list[SloStatus] | None = None,
                 feedback: list[StreamFeedback] | None = None) -> None:
        self.signal = signal
        self.streams: list[Any] = [] if streams is None else streams  # StreamRecord messages
        self.anomalies: list[Any] = [] if anomalies is None else anomalies  # StreamAnomaly messages
        #: The chunk arrivals of stream records in `streams` (not every record has them), for streamz.
        self.chunks: list[StreamChunks] = [] if chunks is None else chunks
        #: The trace_cost processor's per-trace rollups, on whichever batch passes when they are due.
        self.trace_costs: list[TraceCost] = [] if trace_costs is None else trace_costs
        #: The slo processor's evaluations, one per route and model judged.
        self.slo_status: list[SloStatus] = [] if slo_status is None else slo_status
        #: The feedback processor's joins of user feedback to the stream it is about.
        self.feedback: list[StreamFeedback] = [] if feedback is None else feedback
        #: time.monotonic_ns() at which each request merged into this batch was received (receipt-to-ack latency)
        self.received_ns: list[int] = [] if received_ns is None else received_ns
        if data is not None and signal is not Signal.TRACES:
            raise ValueError("only a traces batch holds bytes")
        self._request = request if request is not None or data is not None else REQUEST_TYPES[signal]()
        self._data = data
        #: Indexes of `_data`, by the claims they were scanned with (or answer for: `TraceIndex.for_claims`).
        self._indexes: dict[Claims, TraceIndex] = {}
        #: Attributes to add to spans of `_data`, by (trace id, span id): written when the bytes are next read.
        self._added: dict[tuple[bytes, bytes], dict[str, Any]] = {}
        #: Bytes (and their indexes) of batches merged into this one, joined when the data is next read: many merges
        #: then cost one join, not a copy each.
        self._merged: list[tuple[bytes, dict[Claims, TraceIndex]]] = []

    @classmethod
    def empty(cls, signal: Signal) -> Batch:
        """No items (derived records may be added): spans as zero bytes, the encoding of an empty request."""
        return cls.of_bytes(b"") if signal is Signal.TRACES else cls(signal, REQUEST_TYPES[signal]())

    @classmethod
    def of_bytes(cls, data: bytes, index: TraceIndex | None = None, received_ns: list[int] | None = None,
                 claims: Claims = NO_CLAIMS) -> Batch:
        """A traces batch of an encoded ExportTraceServiceRequest (and its index, when already scanned: with
        `claims`, or with a ClaimsSet, which the index knows, then answering for each of its members)."""
        batch = cls(Signal.TRACES, None, received_ns=received_ns, data=data)
        if index is not None:
            batch._indexes[claims if index.claims_set is None else index.claims_set.union] = index
        return batch

    @property
    def request(self) -> Any:
        """The decoded request, which the caller may edit in place (the bytes are made again from it)."""
        if self._request is None:
            self._write_added()  # and joins what was merged
            self._request = REQUEST_TYPES[self.signal].FromString(self._data)
        self._data = None
        self._indexes = {}
        return self._request

    @request.setter
    def request(self, request: Any) -> None:
        self._request, self._data = request, None
        self._indexes = {}

    @property
    def decoded(self) -> bool:
        """Whether the data is held as a decoded message (a component asked for `request`)."""
        return self._data is None

    @property
    def data(self) -> bytes:
        """The request's encoding: as received while nothing decoded it (with the attributes added since)."""
        if self._data is None:
            self._data = self._request.SerializeToString()
            self._request = None
        self._write_added()
        return self._data

    def add_span_attributes(self, trace_id: bytes, span_id: bytes, values: dict[str, Any]) -> None:
        """Add `values` (those not None) to that span of a batch of bytes, except keys the span already has or was
        given before: the stream enrichment's rule (processor.stream.enrich), written by the wire core's
        `add_attributes` when the bytes are next read. Keyed by ids, not rows, so a merge in between is harmless.
        A batch decoded since its spans were read (for reading: the spans to edit were decoded copies) is encoded
        again first."""
        if self._data is None:
            self._data, self._request = self._request.SerializeToString(), None
            self._indexes = {}
        pending = self._added.setdefault((trace_id, span_id), {})
        for key, value in values.items():
            if value is not None and key not in pending:
                pending[key] = value

    def _join_merged(self) -> None:
        if not self._merged:
            return
        parts, self._merged = [(self._data, self._indexes), *self._merged], []
        # One index joined, not one per claims the processors scanned for: what reads a merged batch (exporters,
        # counts) needs ids and offsets only, and concatenating every claims' index was ~6% of the pipeline's loop on
        # ordinary spans. An index for other claims, asked for later, is scanned from the joined bytes.
        common = [claims for claims in self._indexes if all(claims in indexes for _, indexes in parts)]
        # NO_CLAIMS is the cheapest to join; else a ClaimsSet's index (it goes on answering for each member)
        sets = [claims for claims in common if self._indexes[claims].claims_set is not None]
        kept = NO_CLAIMS if NO_CLAIMS in common else next(iter(sets or common), None)
        self._indexes = {} if kept is None else {kept: TraceIndex.concat([indexes[kept] for _, indexes in parts])}
        self._data = b"".join(data for data, _ in parts)

    def _write_added(self) -> None:
        self._join_merged()
        if not self._added:
            return
        added, self._added = self._added, {}
        index = self._indexes.get(NO_CLAIMS) or next(iter(self._indexes.values()), None) \
            or wire.scan_traces(self._data)
        ids, width = index.ids, SPAN_IDS
        rows = {row: values for row in range(len(index))
                if (values := added.get((ids[row * width:row * width + 16], ids[row * width + 16:row * width + 24])))}
        if rows:
            self._data = wire.add_attributes(index, rows)
            self._indexes = {}

    def index(self, claims: Claims = NO_CLAIMS) -> TraceIndex:
        """The wire core's index of `data` (traces only), the spans `claims` names read fully; scanned once per
        claims, and not at all for a member of the ClaimsSet an index was scanned with (the receiver's: the claims
        of the pipeline's components), which that index answers for. Any index gives ids, offsets and counts: with
        NO_CLAIMS the one already made is reused."""
        self._write_added()
        found = self._indexes.get(claims)
        if found is None:
            if claims is NO_CLAIMS and self._indexes and self._data is not None:
                return next(iter(self._indexes.values()))
            found = self._indexes[claims] = self._answer(claims) or wire.scan_traces(self.data, claims)
        return found

    def _answer(self, claims: Claims) -> TraceIndex | None:
        for index in self._indexes.values():
            if index.claims_set is not None and (found := index.for_claims(claims)) is not None:
                return found
        return None

    def may_hold(self, claims: Claims) -> bool:
        """Whether any span may match `claims`: for bytes, whether the index claims one; a decoded batch is walked
        as messages (a component may hold its spans to edit them), so it may."""
        return self._data is None or bool(self.index(claims).claimed_rows)

    def replace_data(self, data: bytes, index: TraceIndex | None = None) -> None:
        """The batch's spans are now `data` (a writer's output from `index()`, so nothing is pending), and its index
        when the writer's caller scanned it."""
        self._request, self._data, self._merged = None, data, []
        self._indexes = {}
        if index is not None:
            self._indexes[NO_CLAIMS] = index

    def item_count(self) -> int:
        """Spans, log records or metric data points: what the Collector counts as items."""
        if self._data is not None:  # attributes still to be added change no count: any index of each part will do
            if not self._merged and self._indexes:
                return len(next(iter(self._indexes.values())))
            return sum(len(self._any_index(indexes, data)) for data, indexes in ((self._data, self._indexes),
                                                                                  *self._merged))
        return count_items(self.signal, self._request)

    @staticmethod
    def _any_index(indexes: dict[Claims, TraceIndex], data: bytes) -> TraceIndex:
        if not indexes:
            indexes[NO_CLAIMS] = wire.scan_traces(data)
        return next(iter(indexes.values()))

    def is_empty(self) -> bool:
        """No items and no derived records."""
        return self.item_count() == 0 and not (self.streams or self.anomalies or self.chunks or self.trace_costs
                                               or self.slo_status or self.feedback)

    def copy(self) -> Batch:
        """A deep copy, for a consumer that mutates data while another reads it (bytes are shared: immutable)."""
        derived = {"chunks": list(self.chunks), "received_ns": list(self.received_ns),
                   "trace_costs": list(self.trace_costs), "slo_status": list(self.slo_status),
                   "feedback": list(self.feedback)}
        if self._data is not None:
            out = Batch(self.signal, None, list(self.streams), list(self.anomalies), data=self.data, **derived)
            out._indexes.update(self._indexes)
            return out
        request = REQUEST_TYPES[self.signal]()
        request.CopyFrom(self._request)
        return Batch(self.signal, request, list(self.streams), list(self.anomalies), **derived)

    def merge(self, other: Batch) -> None:
        """`other`'s data appended to this batch's (as protobuf's MergeFrom: resource entries one after another)."""
        if self._data is not None and other._data is not None:
            other._join_merged()
            self._merged.append((other._data, other._indexes))
            for key, values in other._added.items():  # by ids: they hold in the joined bytes too
                self._added.setdefault(key, {}).update({k: v for k, v in values.items()
                                                        if k not in self._added.get(key, {})})
        else:
            self.request.MergeFrom(other.request)
        self.streams.extend(other.streams)
        self.anomalies.extend(other.anomalies)
        self.chunks.extend(other.chunks)
        self.trace_costs.extend(other.trace_costs)
        self.slo_status.extend(other.slo_status)
        self.feedback.extend(other.feedback)
        self.received_ns.extend(other.received_ns)

    def __repr__(self) -> str:
        held = f"{len(self._data)} bytes" if self._data is not None else "decoded"
        derived = "".join(f", {len(records)} {name}" for name, records in (
            ("trace costs", self.trace_costs), ("SLO statuses", self.slo_status), ("feedback", self.feedback))
            if records)
        return f"Batch({self.signal.value}, {held}, {len(self.streams)} streams, {len(self.anomalies)} anomalies" \
               f"{derived})"


def count_items(signal: Signal, request: Any) -> int:
    if signal is Signal.TRACES:
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if signal is Signal.LOGS:
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    return sum(_data_points(m) for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)


def span_keys(resource_spans: Iterable[Any]) -> set[tuple[bytes, bytes]]:
    """(trace id, span id) of every span under these ResourceSpans (a request's, or a slice of them)."""
    return {(span.trace_id, span.span_id) for rs in resource_spans for ss in rs.scope_spans for span in ss.spans}


def _data_points(metric: Any) -> int:
    kind = metric.WhichOneof("data")
    return len(getattr(metric, kind).data_points) if kind else 0
