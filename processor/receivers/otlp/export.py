"""What both transports do with a decoded export request: check, count, hand downstream, answer.

Downstream errors become the statuses an OTLP client knows how to handle (processor.errors): retryable
-> UNAVAILABLE/503 with a delay, permanent -> INVALID_ARGUMENT/400, no pipeline -> UNIMPLEMENTED/404, some spans
refused by name -> OK with a partial success that counts them (INVALID_ARGUMENT/400 when that is all of them).
Any other error is treated as retryable, as the Collector does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from processor import wire
from processor.component import CreateSettings, Reservation
from processor.errors import PermanentError, RejectedSpans, RequestTooLarge, RetryableError
from processor.model.batch import REQUEST_TYPES, Batch, Signal, span_keys
from processor.receivers.otlp.failure import Failure
from processor.receivers.otlp.retry_delay import RetryDelay
from processor.receivers.otlp.validate import drop_invalid
from processor.service.fanout import SignalRouter, UnsupportedSignal
from processor.wire.claims import NO_MEMBERS, ClaimsSet

RESPONSE_TYPES: dict[Signal, type] = {
    Signal.TRACES: ExportTraceServiceResponse,
    Signal.LOGS: ExportLogsServiceResponse,
    Signal.METRICS: ExportMetricsServiceResponse,
}
#: The partial_success field that counts rejected items, per signal.
_REJECTED_FIELD = {Signal.TRACES: "rejected_spans", Signal.LOGS: "rejected_log_records",
                   Signal.METRICS: "rejected_data_points"}


#: What max_request_items counts, per signal.
_ITEMS = {Signal.TRACES: "spans and span events", Signal.LOGS: "log records", Signal.METRICS: "data points"}


def request_items(batch: Batch) -> int:
    """The items of a request as max_request_items counts them: the pipeline walks each span event as it walks a
    span (chunk events are most of an LLM span), so they count too."""
    if batch.signal is not Signal.TRACES:
        return batch.item_count()
    if not batch.decoded:
        index = batch.index()
        return len(index) + sum(index.event_count)
    return sum(len(ss.spans) + sum(len(span.events) for span in ss.spans)
               for rs in batch.request.resource_spans for ss in rs.scope_spans)


def decode_protobuf(signal: Signal, body: bytes, span_claims: ClaimsSet = NO_MEMBERS) -> Batch:
    """A binary export request; a corrupt one (or one nested past protobuf's depth limit) is INVALID_ARGUMENT.
    Spans stay bytes, read by the compiled wire core's index (processor.wire), scanned once with `span_claims`
    (the pipelines' processors': Batch.index answers each from it); logs and metrics are decoded, and so are spans
    on the pure-Python path, where the reference index costs more than the upb decode it would save
    (bench/README.md)."""
    try:
        if signal is Signal.TRACES and wire.IMPLEMENTATION == "native":
            return Batch.of_bytes(body, wire.scan_traces(body, span_claims or wire.NO_CLAIMS))
        return Batch(signal, REQUEST_TYPES[signal].FromString(body))
    except (DecodeError, wire.WireError) as exc:
        raise Failure.invalid(f"body is not a valid protobuf {REQUEST_TYPES[signal].__name__}: {exc}") from None


@dataclass(frozen=True)
class Decoder:
    """How a transport turns a body into a request, and how much memory that takes per body byte: the estimate a
    pipeline reserves (Refusing.reserve, memory_limiter) once the body has arrived and before it is decoded."""

    #: (signal, body, the claims the pipelines read spans with) -> batch
    decode: Callable[[Signal, bytes, ClaimsSet], Batch]
    decoded_bytes_per_byte: float

    def estimate(self, body_size: int) -> int:
        return int(body_size * self.decoded_bytes_per_byte)


#: upb messages take up to about 7 times the bytes of realistic OTLP (bench/results/decoded_size.txt: spans with ids
#: only 6.7x, with a name and times 3.6x, with ten attributes 3.9x, with chunk events 2.3-3.4x, large strings 1.0x).
#: Requests of empty messages take far more (89x for empty spans): only counting before decoding could tell.
PROTOBUF_DECODER = Decoder(decode_protobuf, 7.0)

#: The shortest retry delay given to refused clients (RetryDelay lengthens it as an overload goes on).
BUSY_RETRY_AFTER_S = 1.0


class ExportHandler:
    def __init__(self, settings: CreateSettings, next_consumer: SignalRouter, *, max_in_flight: int = 128,
                 max_items: int | None = None) -> None:
        self.receiver = str(settings.id)
        self.max_in_flight = max_in_flight
        self.max_items = max_items
        #: Requests holding a place (decoded, or being decoded), and requests whose body is still on its way.
        self.in_flight = 0
        self.reading = 0
        self._lock = threading.Lock()
        self.retry_delay = RetryDelay()
        self.log: logging.Logger = settings.logger
        self.next = next_consumer
        #: What the pipelines' processors read spans with: each request is scanned once with all of it.
        self.span_claims = next_consumer.span_claims
        t = settings.telemetry
        self._busy = t.receiver_refused_requests
        self._refused_connections = t.receiver_refused_connections
        self._counters = {Signal.TRACES: (t.receiver_accepted, t.receiver_refused),
                          Signal.LOGS: (t.receiver_accepted_logs, t.receiver_refused_logs),
                          Signal.METRICS: (t.receiver_accepted_points, t.receiver_refused_points)}

    def check(self, signal: Signal, transport: str, announced: tuple[int, Decoder] | None = None) -> None:
        """Asked before a body is read. UNIMPLEMENTED/404 when no pipeline takes `signal`; UNAVAILABLE/503 with a
        delay when every place is taken, or when a pipeline would refuse the request anyway (memory_limiter over its
        limit): a request refused unread costs neither the memory of its body nor the time to decode it, which is
        what keeps an overload from growing the process. With `announced` (the body's size as its headers say, and
        how it will be decoded), a body that the pipeline could not take is refused before it is read too."""
        if not self.next.accepts(signal):
            raise Failure.unimplemented(f"no pipeline takes {signal.value} from receiver {self.receiver}")
        if self.in_flight >= self.max_in_flight:
            self._refused_undecoded(transport)
            raise self._full()
        if (refusal := self.next.refusal(signal)) is not None:
            self._refused_undecoded(transport)
            raise self._failure(refusal)
        if announced is not None:
            size, decoder = announced
            if (reservation := self._reserve(signal, transport, decoder.estimate(size))) is not None:
                reservation.release()

    @contextlib.contextmanager
    def reading_body(self) -> Iterator[None]:
        """Counts a request whose body is on its way. It holds no place: a client that is slow to send (or never
        sends) must not keep out the others, and the transport's read_timeout ends its wait."""
        with self._lock:
            self.reading += 1
        try:
            yield
        finally:
            with self._lock:
                self.reading -= 1

    @contextlib.contextmanager
    def admitted(self, signal: Signal, transport: str, body: bytes, decoder: Decoder) -> Iterator[Batch]:
        """Takes one of the `max_in_flight` places for a request whose body has arrived, decodes the body and yields
        its batch; the place is held until the request has been answered. UNAVAILABLE/503 with a delay when every
        place is taken. gRPC calls it on its own thread (loop_thread.py), HTTP on the pipeline's: the count is
        shared under a lock."""
        with self._lock:
            full = self.in_flight >= self.max_in_flight
            if not full:
                self.in_flight += 1
        if full:
            self._refused_undecoded(transport)
            raise self._full()
        try:
            yield self._decode(signal, transport, body, decoder)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _decode(self, signal: Signal, transport: str, body: bytes, decoder: Decoder) -> Batch:
        """Decodes within the pipeline's budget: the memory decoding takes is reserved first (RESOURCE_EXHAUSTED/413
        for a request that could never fit, UNAVAILABLE/503 for one that does not fit now), then the request may
        hold at most max_items items (413). Both are asked of the body's bytes, not of how they are decoded."""
        reservation = self._reserve(signal, transport, decoder.estimate(len(body)))
        try:
            batch = decoder.decode(signal, body, self.span_claims)
        finally:
            if reservation is not None:
                reservation.release()
        if self.max_items is not None and (items := request_items(batch)) > self.max_items:
            self._counters[signal][1].labels(self.receiver, transport).inc(batch.item_count())
            raise Failure.too_large(f"the request holds {items} {_ITEMS[signal]}, more than max_request_items "
                                    f"({self.max_items}) of receiver {self.receiver}; send smaller requests")
        return batch

    def _reserve(self, signal: Signal, transport: str, decoded_bytes: int) -> Reservation | None:
        try:
            return self.next.reserve(signal, decoded_bytes)
        except (RetryableError, PermanentError) as exc:
            self._refused_undecoded(transport)
            raise self._failure(exc) from None

    def _full(self) -> Failure:
        return Failure.unavailable(f"{self.max_in_flight} requests in flight, the most this receiver takes at once; "
                                   "retry later", self.retry_delay.next(BUSY_RETRY_AFTER_S))

    def refused_connections(self, transport: str):
        """The counter of connections a transport closed at once because max_connections were open."""
        return self._refused_connections.labels(self.receiver, transport)

    def _refused_undecoded(self, transport: str) -> None:
        self._busy.labels(self.receiver, transport).inc()

    def late(self, transport: str) -> Failure:
        """The refusal for a request that reached the receiver too close to its client's deadline to be taken."""
        self._refused_undecoded(transport)
        return Failure.unavailable("the request waited too long to be read (the receiver is overloaded); retry later",
                                   self.retry_delay.next(BUSY_RETRY_AFTER_S))

    def undelivered_at_deadline(self) -> Failure:
        """The refusal for a request held downstream until its client's deadline had all but come."""
        return Failure.unavailable("not yet delivered downstream when the client's deadline came (the Kafka broker "
                                   "may be unreachable); retry later", self.retry_delay.next(BUSY_RETRY_AFTER_S))

    async def export(self, signal: Signal, batch: Batch, transport: str, received_ns: int | None = None,
                     answer_within: float | None = None) -> Any:
        """Hand `batch` (what `admitted` yielded) on; returns the Export<Signal>ServiceResponse or raises Failure.
        Call it in `admitted`, after `check`.

        `received_ns` (time.monotonic_ns()) is when the request arrived, before decoding; default now.
        `answer_within` (seconds; the client's deadline, when it sent one) bounds the wait for downstream, which
        holds a request until its data is delivered: past it the client is refused with a retry delay rather than
        left to time out. The data may still be delivered, so the client's retry may arrive twice.
        """
        received_ns = received_ns or time.monotonic_ns()
        accepted, refused = (c.labels(self.receiver, transport) for c in self._counters[signal])
        rejected, reason = drop_invalid(batch)
        refused.inc(rejected)
        items = batch.item_count()
        if items:
            own_keys = _own_span_keys(batch)
            batch.received_ns = [received_ns]
            try:
                async with asyncio.timeout(answer_within) as deadline:
                    await self.next.consume(batch)
            except TimeoutError as exc:
                refused.inc(items)
                if not deadline.expired():
                    raise self._failure(exc) from exc
                raise self.undelivered_at_deadline() from exc
            except RejectedSpans as exc:  # some spans refused by name (too large for Kafka): the rest were taken
                mine = len(exc.spans & own_keys())
                refused.inc(mine)
                accepted.inc(items - mine)
                if mine >= items:
                    raise Failure.invalid(f"data refused: {exc}") from exc
                rejected += mine
                reason = "; ".join(part for part in (reason, str(exc)) if part)
            except Exception as exc:
                refused.inc(items)
                raise self._failure(exc) from exc
            except BaseException:  # cancelled (client gone, shutdown): counted, not translated
                refused.inc(items)
                raise
            else:
                accepted.inc(items)
        response = RESPONSE_TYPES[signal]()
        if rejected:
            setattr(response.partial_success, _REJECTED_FIELD[signal], rejected)
            response.partial_success.error_message = reason
        return response

    def _failure(self, exc: Exception) -> Failure:
        if isinstance(exc, RequestTooLarge):
            return Failure.too_large(f"request too large: {exc}")
        if isinstance(exc, RetryableError):
            return Failure.unavailable(f"downstream is full or down: {exc}",
                                       self.retry_delay.next(exc.retry_after or BUSY_RETRY_AFTER_S))
        if isinstance(exc, PermanentError):
            return Failure.invalid(f"data refused: {exc}")
        if isinstance(exc, UnsupportedSignal):
            return Failure.unimplemented(str(exc))
        self.log.exception("unexpected error from the pipeline; answering retryable")
        return Failure.unavailable(f"internal error downstream: {exc}", self.retry_delay.next(BUSY_RETRY_AFTER_S))


def _own_span_keys(batch: Batch) -> Callable[[], set[tuple[bytes, bytes]]]:
    """The span keys of this request, asked for only when downstream refused some spans by name: the batch processor
    may have merged other requests into `batch` by then, while the bytes and their index stay as they came."""
    if batch.signal is not Signal.TRACES:
        return set
    if not batch.decoded:
        return batch.index().span_keys
    keys = span_keys(batch.request.resource_spans)
    return lambda: keys
