"""stream: reads streamed LLM calls from spans, derives what users felt of each stream, and emits one
StreamRecord per call after the trace's `wait`.

Each streamed LLM span is read once, through the convention adapters, and enriched at once with what its span
alone tells (processor.processors.stream.derive); spans go downstream in the same batch. The trace's pieces (LLM
calls, HTTP client child spans, gen_ai log records joined by span id) are held in a `TraceStore` for `wait` after
its last piece, then each call's final record is derived, with its anomalies, from everything joined: joins that
arrive after the span (logs, siblings, HTTP retries) change the record, not the span.

Every instance of one component id shares the store (`settings.shared`), so the logs-pipeline instance joins
gen_ai log records into the calls the traces-pipeline instance read. One traces instance emits: records of expired
traces ride on the next outgoing span batch, or go out from a background flush as a batch with an empty request.

No turn of the event loop makes more than `FINAL_SLICE` calls' final records: traces that expire together (a burst of
traffic `wait` ago, or the store's bound evicting) would otherwise be one long turn, which every request behind it
waits out, and ride on one request, which waits for all of them. A span batch carries the oldest slice; the rest go
out a slice at a time, each a batch of its own, from a task that lets the loop run between slices.

Final records downstream refuses are sent again until taken (resend.py): no client stands behind them to retry.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from processor.component import Consumer, CreateSettings
from processor.conventions import read_llm_span
from processor.conventions.base import Convention, LlmCall, Piece
from processor.conventions.span import LlmSpan, from_index, from_protobuf
from processor.errors import RejectedSpans
from processor.model.batch import Batch, Signal
from processor.model.otlp_attrs import as_str
from processor.processors.stream.config import StreamConfig
from processor.processors.stream.content import ContentCheck
from processor.processors.stream.derive import Derivations
from processor.processors.stream.reading import CLAIMS, http_attempt, joinable_logs, maybe_http_attempt, spans
from processor.processors.stream.resend import Derived, Resender
from processor.processors.stream.telemetry import eviction_counters, lost_counter
from processor.service.background_flush import BackgroundFlush
from processor.service.fanout import raise_combined
from processor.stream.store import TraceStore
from processor.stream.work import StreamWork, TraceState

#: Reads a decoded span (read_llm_call). A batch of bytes is read by read_llm_span from what the scan read: its
#: conventions are SpanConventions (`read_span`), claimed by CLAIMS.
Reader = Callable[[Any, Any, Any, list[Convention]], LlmCall | None]

#: Most calls whose final records one turn makes (~100 us each on the llm workload: a slice is a few ms).
FINAL_SLICE = 32


class StreamProcessor:
    #: Enriches LLM spans, and adds stream records and anomalies to the batches it passes on.
    mutates_data = True
    #: The spans it reads from a batch's index (component.Claiming): the receiver's one scan claims them.
    span_claims = (CLAIMS,)

    def __init__(self, settings: CreateSettings, config: StreamConfig, next_consumer: Consumer, *,
                 conventions: list[Convention], read: Reader) -> None:
        self.next = next_consumer
        self.log = settings.logger
        self.conventions = conventions
        self.by_name = {c.name: c for c in conventions}
        self.read = read
        self.route_keys = tuple(config.route_keys)
        self.tenant_keys = tuple(config.tenant_keys)
        evicted, dropped = eviction_counters(settings.telemetry.registry)
        cid = str(settings.id)
        self.store: TraceStore = settings.shared.setdefault("store", TraceStore(
            config.wait, config.max_traces, lambda reason: evicted.labels(cid, reason).inc(),
            max_trace_pieces=config.max_trace_pieces, max_held_bytes=config.max_held_bytes,
            on_drop=lambda kind, count: dropped.labels(cid, kind).inc(count)))
        self.derive = Derivations(config)
        self.content = ContentCheck(settings, config.content_check) if config.content_check is not None else None
        self.emits = Signal.TRACES in settings.signals
        #: Expired traces whose records are still to be made, oldest first (the emitting instance's).
        self._due: deque[TraceState] = deque()
        self._finishing: asyncio.Task | None = None
        self._sends: set[asyncio.Task] = set()  # slices on their way downstream
        self._flush = BackgroundFlush(config.wait, self._take_due, self._emit, name=f"{cid}.flush")
        lost = lost_counter(settings.telemetry.registry)
        self._resend = Resender(lambda batch: self.next.consume(batch),  # `next` as it is then
                                lambda kind, count: lost.labels(cid, kind).inc(count), log=self.log, name=cid)

    async def start(self, host) -> None:
        if self.emits and self.store.emitter is None:
            self.store.emitter = self
            self._flush.start()

    async def shutdown(self) -> None:
        if self.store.emitter is not self:
            return
        await self._flush.stop()  # traces it had popped arrive first
        await self._finished()
        self.store.emitter = None
        try:
            await self._emit(self._take_due() + self.store.pop_all())
        except asyncio.CancelledError:  # the shutdown's deadline: what was refused or still on its way is counted
            self._resend.give_up()
            raise
        await self._resend.drain()  # what downstream refused, until taken (or the shutdown's deadline)

    async def consume(self, batch: Batch) -> None:
        now = time.monotonic()
        if batch.signal is Signal.TRACES:
            if batch.may_hold(CLAIMS):  # ordinary spans only: nothing to read, nothing decoded
                self.derive.at_receipt(batch, self._read_spans(batch, now))
            if self.store.emitter is None and self.emits:
                self.store.emitter = self  # started without start(), e.g. by hand in a test
            if self.store.emitter is self:
                self._due.extend(self.store.pop_expired(now))
                before = len(batch.streams), len(batch.anomalies), len(batch.chunks)
                self._attach(batch, self._next_slice())
                attached = Derived.of(batch, *before)
                if self._due and (self._finishing is None or self._finishing.done()):
                    self._finishing = asyncio.get_running_loop().create_task(self._finish_due())
                if attached:
                    return await self._consume_carrying(batch, attached)
        elif batch.signal is Signal.LOGS:
            self._join_logs(batch.request, now)
            if self.content is not None:
                self.content.hold_log_pieces(batch.request)
        await self.next.consume(batch)

    async def _consume_carrying(self, batch: Batch, attached: Derived) -> None:
        """Pass on a span batch carrying final records of other traces: refused, its client sends the spans again,
        but not those records, which are sent again from here."""
        try:
            await self.next.consume(batch)
        except RejectedSpans:  # some spans refused by name: the rest, these records too, was taken
            raise
        except Exception as exc:
            self._resend.add(attached, exc)
            raise

    def _read_spans(self, batch: Batch, now: float) -> list[StreamWork]:
        """The receipt-time work of each streamed LLM span of the batch, its pieces now held."""
        works: list[StreamWork] = []
        if batch.decoded:  # a component before this one decoded the request: `read` reads its spans
            for span, resource, scope in spans(batch.request):
                call = self.read(span, resource, scope, self.conventions)
                if call is not None or maybe_http_attempt(span):
                    self._take(works, call, from_protobuf(span, resource, scope, CLAIMS), span, now)
        else:  # the spans the index claims, as the scan read them: nothing decoded, enriched through the batch
            index = batch.index(CLAIMS)
            for row in index.claimed_rows:
                span = from_index(index, row, CLAIMS)
                self._take(works, read_llm_span(span, self.conventions), span, span, now)
        return works

    def _take(self, works: list[StreamWork], call: LlmCall | None, read: LlmSpan, span: Any, now: float) -> None:
        """Keep what the span `read` (the batch's `span`, or a reading of its bytes) says: its call, or an HTTP
        attempt; a whole streamed call's receipt-time work goes to `works`."""
        store = self.store
        if call is None:
            attempt = http_attempt(read)
            if attempt is not None:
                store.add_http(read.trace_id, attempt, now)
            return
        if call.streaming is False:
            return
        _label(call.record, "route", self.route_keys, read)
        _label(call.record, "tenant", self.tenant_keys, read)
        trace = store.touch(read.trace_id, now)
        for log in store.take_logs(trace, read.span_id):
            self._join(call, log)
        self._adopt_parent_logs(trace, call)
        if call.piece is Piece.WHOLE:  # a piece is only known whole once joined, in the final record
            work = StreamWork.of(call, trace, span, span_is_copy=span is read)
            if self.content is not None:
                self.content.read_chunks(work, read)
            works.append(work)
        store.add_call(trace, read.span_id, call)  # held as it is now: later changes to `call` are not kept

    def _join_logs(self, request: Any, now: float) -> None:
        for log in joinable_logs(request):
            trace = self.store.touch(log.trace_id, now)
            span_id, call = log.span_id, trace.call(log.span_id)
            if call is None:
                call = _call_ended_before(trace, log)
                span_id = call.record.span_id if call is not None else span_id
            if call is not None:
                self._join(call, log)
                self.store.add_call(trace, span_id, call)  # a held call is a copy: held again, joined
            else:  # the span comes later: keep a copy, the request it is in moves on
                held = type(log)()
                held.CopyFrom(log)
                self.store.hold_log(trace, held)

    def _adopt_parent_logs(self, trace: TraceState, call: LlmCall) -> None:
        """A log held under this call's parent span id that was written after the call ended is the call's own:
        OpenLLMetry emits a stream's `gen_ai.choice` once the LLM span has ended, under the parent's span id."""
        held = trace.pending_logs.get(call.record.parent_span_id)
        if not held:
            return
        end = call.record.end_time_unix_nano
        mine = [log for log in held if _log_time(log) >= end - _CLOCK_SLACK_NS]
        for log in mine:
            self.store.take_log(trace, log)
            self._join(call, log)

    def _join(self, call: LlmCall, log: Any) -> None:
        convention = self.by_name.get(call.record.convention)
        if convention is not None:
            convention.join_log(call, log)

    def _attach(self, batch: Batch, traces: list[TraceState]) -> None:
        """The final record of every streamed call of the traces, derived, with its anomalies."""
        if not traces:
            return
        works = [StreamWork.of(call, trace) for trace in traces for call in trace.streamed_calls()]
        batch.streams.extend(work.record for work in works)
        self.derive.final(batch, works)
        if self.content is not None:
            batch.anomalies.extend(a for a in map(self.content.check, works) if a is not None)

    async def flush(self) -> None:
        """Emit every held trace now (a `Flushable`): the kafka receiver calls this before it gives up its
        partitions, so the next owner of a trace starts from nothing. Raises when downstream refuses."""
        if self.store.emitter is not self:
            return
        await self._finished()
        sends = [send async for send in self._sent(self._take_due() + self.store.pop_all(), self.next.consume)]
        errors = [e for e in await asyncio.gather(*sends, return_exceptions=True) if isinstance(e, BaseException)]
        raise_combined(errors)

    def _take_due(self) -> list[TraceState]:
        """Every expired trace whose records are still to be made (the background flush's, and shutdown's)."""
        self._due.extend(self.store.pop_expired(time.monotonic()))
        due = list(self._due)
        self._due.clear()
        return due

    def _next_slice(self) -> list[TraceState]:
        """The oldest due traces, up to FINAL_SLICE calls (one trace at least)."""
        due, taken, calls = self._due, [], 0
        while due and (not taken or calls + len(due[0].held) <= FINAL_SLICE):
            trace = due.popleft()
            taken.append(trace)
            calls += len(trace.held)
        return taken

    async def _sent(self, traces: list[TraceState], send: Callable[[Batch], Awaitable[None]]) \
            -> AsyncIterator[asyncio.Task]:
        """Each slice of the traces made into a batch and sent, a slice per turn. The sends run side by side (a
        batch processor downstream merges them, where one after the other each would wait for its timeout)."""
        for part in _slices(traces):
            batch = Batch.empty(Signal.TRACES)
            self._attach(batch, part)
            task = asyncio.get_running_loop().create_task(send(batch))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
            yield task
            await asyncio.sleep(0)

    async def _finish_due(self) -> None:
        """What span batches left of the due traces, a slice per turn."""
        while self._due:
            await asyncio.sleep(0)  # the span batch that left these goes on first
            part = self._next_slice()
            try:
                async for _ in self._sent(part, self._send):
                    pass
            except Exception:  # no caller to report to (on a span batch it failed that request): say what was lost
                self.log.exception("could not make the final records of %d traces", len(part))

    async def _finished(self) -> None:
        """Waits for the slices under way (they were taken from the store: nothing else will send them)."""
        if self._finishing is not None:
            await asyncio.shield(self._finishing)
            self._finishing = None
        while self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)

    async def _emit(self, traces: list[TraceState]) -> None:
        """The background flush's send (and shutdown's): returns once every slice was taken downstream."""
        sends = [send async for send in self._sent(traces, self._send)]
        await asyncio.gather(*sends)

    async def _send(self, batch: Batch) -> None:
        derived = Derived.of(batch)  # copied now: downstream may merge other data into `batch`
        try:
            await self.next.consume(batch)
        except Exception as exc:  # no caller to retry them: sent again from here
            self._resend.add(derived, exc)
        except asyncio.CancelledError:
            self._resend.hold(derived)
            raise


_CLOCK_SLACK_NS = 1_000_000


def _slices(traces: list[TraceState]) -> Iterator[list[TraceState]]:
    """The traces in order, in slices of up to FINAL_SLICE calls (one trace at least)."""
    part: list[TraceState] = []
    calls = 0
    for trace in traces:
        if part and calls + len(trace.held) > FINAL_SLICE:
            yield part
            part, calls = [], 0
        part.append(trace)
        calls += len(trace.held)
    if part:
        yield part


def _label(record: Any, field: str, keys: tuple[str, ...], span: LlmSpan) -> None:
    if record.HasField(field):
        return
    for attributes in (span.attributes, span.resource):
        for key in keys:
            value = as_str(attributes.get(key))
            if value:
                setattr(record, field, value)
                return


def _log_time(log: Any) -> int:
    return log.time_unix_nano or log.observed_time_unix_nano


def _call_ended_before(trace: TraceState, log: Any) -> LlmCall | None:
    """The child call of the log's span that ended last before the log was written (see `_adopt_parent_logs`)."""
    at = _log_time(log)
    children = [c for c in trace.calls() if c.record.parent_span_id == log.span_id
                and c.record.end_time_unix_nano <= at + _CLOCK_SLACK_NS]
    return max(children, key=lambda c: c.record.end_time_unix_nano, default=None)
