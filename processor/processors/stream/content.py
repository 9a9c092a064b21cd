"""The content check: a stream's text rebuilt from its chunks, where they carry text, compared with the completion
its span recorded (`LlmCall.completion_text`, filled by the convention adapters and joined logs).

Chunk text comes from chunk span events (read at receipt, while the span is at hand and before redaction) and
from chunk log records (held by span id, shared by the traces and logs instances of one component id). A final
record is checked once: a mismatch sets `content_mismatch` and gives a `content_mismatch` anomaly whose detail
gives offsets, lengths and fingerprints, never text.
"""

from __future__ import annotations

from typing import Any

from processor.component import CreateSettings
from processor.config.hmac_keys import hmac_key_from_env
from processor.conventions.span import LlmSpan
from processor.model.records import StreamAnomaly, anomaly_for
from processor.processors.stream.chunk_text import ChunkReader, PendingPieces, joined
from processor.processors.stream.compare import Fingerprint, difference
from processor.processors.stream.config import WITHOUT_KEY, ContentCheckSection
from processor.processors.stream.telemetry import content_counters
from processor.stream.work import StreamWork


class ContentCheck:
    def __init__(self, settings: CreateSettings, config: ContentCheckSection) -> None:
        self.reader = ChunkReader(config.chunk_events, config.chunk_log_events, config.text_keys)
        name = config.hash_key_env
        self.fingerprint = Fingerprint(hmac_key_from_env(name, otherwise=WITHOUT_KEY) if name else None)
        checked, dropped = content_counters(settings.telemetry.registry)
        self.checked = {result: checked.labels(str(settings.id), result) for result in ("match", "mismatch")}
        dropped = dropped.labels(str(settings.id))
        self.pending: PendingPieces = settings.shared.setdefault(
            "chunk_logs", PendingPieces(config.max_pending, on_drop=dropped.inc))

    def hold_log_pieces(self, request: Any) -> None:
        for trace_id, span_id, piece in self.reader.log_pieces(request):
            self.pending.add(trace_id, span_id, piece)

    def read_chunks(self, work: StreamWork, span: LlmSpan) -> None:
        """At receipt: the text of the chunk events of the work's span (`span`, as read), kept with the call for its
        final check."""
        text = self.reader.span_text(span)
        if text is not None:
            work.call.chunk_text = text

    def check(self, work: StreamWork) -> StreamAnomaly | None:
        call, record = work.call, work.record
        logged = joined(self.pending.pop(record.trace_id, record.span_id))
        rebuilt = call.chunk_text if call.chunk_text is not None else logged
        recorded = call.completion_text
        if rebuilt is None or recorded is None:
            return None
        how = difference(rebuilt, recorded)
        self.checked["mismatch" if how else "match"].inc()
        record.content_mismatch = how is not None
        if how is None:
            return None
        source = "chunk events" if call.chunk_text is not None else "chunk log records"
        detail = (f"text rebuilt from {source} ({len(rebuilt)} chars, {self.fingerprint(rebuilt)}) "
                  f"differs from the recorded completion ({len(recorded)} chars, {self.fingerprint(recorded)}): {how}")
        time = record.end_time_unix_nano if record.HasField("end_time_unix_nano") else None
        return anomaly_for(record, "content_mismatch", severity="warning", time_unix_nano=time, detail=detail)
