"""content_check: rebuilds a stream's text from its chunks, where they carry text, and compares it with the
completion its span recorded (`LlmCall.completion_text`, filled by the convention adapters and joined logs).

Chunk text comes from chunk span events (read at receipt, while the span is at hand and before redaction) and
from chunk log records (held by span id, shared by the traces and logs instances of one component id). The
final record is checked once the trace's wait is over: a mismatch sets `content_mismatch` and emits a
`content_mismatch` anomaly whose detail gives offsets, lengths and fingerprints, never text.
"""

from __future__ import annotations

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.config.hmac_keys import hmac_key_from_env
from processor.model.batch import Batch, Signal
from processor.model.records import anomaly_for
from processor.processors.content_check.chunks import ChunkReader, PendingPieces, joined
from processor.processors.content_check.compare import Fingerprint, difference
from processor.processors.content_check.config import WITHOUT_KEY, ContentCheckConfig
from processor.processors.content_check.telemetry import counters
from processor.stream.work import StreamWork, works


class ContentCheckProcessor(ComponentBase):
    #: Sets `content_mismatch` and adds anomalies.
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: ContentCheckConfig, next_consumer: Consumer) -> None:
        self.next = next_consumer
        self.reader = ChunkReader(config.chunk_events, config.chunk_log_events, config.text_keys)
        name = config.hash_key_env
        self.fingerprint = Fingerprint(hmac_key_from_env(name, otherwise=WITHOUT_KEY) if name else None)
        checked, dropped = counters(settings.telemetry.registry)
        self.checked = {result: checked.labels(str(settings.id), result) for result in ("match", "mismatch")}
        dropped = dropped.labels(str(settings.id))
        self.pending: PendingPieces = settings.shared.setdefault(
            "chunk_logs", PendingPieces(config.max_pending, on_drop=dropped.inc))

    async def consume(self, batch: Batch) -> None:
        if batch.signal is Signal.LOGS:
            for trace_id, span_id, piece in self.reader.log_pieces(batch.request):
                self.pending.add(trace_id, span_id, piece)
        for work in works(batch):
            if work.final:
                self._check(work, batch)
            else:
                self._read_chunks(work)
        await self.next.consume(batch)

    def _read_chunks(self, work: StreamWork) -> None:
        text = joined(self.reader.span_pieces(work.span))
        if text is not None:
            work.call.chunk_text = text

    def _check(self, work: StreamWork, batch: Batch) -> None:
        call, record = work.call, work.record
        logged = joined(self.pending.pop(record.trace_id, record.span_id))
        rebuilt = call.chunk_text if call.chunk_text is not None else logged
        recorded = call.completion_text
        if rebuilt is None or recorded is None:
            return
        how = difference(rebuilt, recorded)
        self.checked["mismatch" if how else "match"].inc()
        record.content_mismatch = how is not None
        if how is None:
            return
        detail = (f"text rebuilt from {_source(call.chunk_text)} ({len(rebuilt)} chars, {self.fingerprint(rebuilt)}) "
                  f"differs from the recorded completion ({len(recorded)} chars, {self.fingerprint(recorded)}): {how}")
        time = record.end_time_unix_nano if record.HasField("end_time_unix_nano") else None
        batch.anomalies.append(anomaly_for(record, "content_mismatch", severity="warning", time_unix_nano=time,
                                           detail=detail))


def _source(span_text: str | None) -> str:
    return "chunk events" if span_text is not None else "chunk log records"
