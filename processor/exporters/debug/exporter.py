"""Logs what passes through: a summary line per batch (basic), a line per item (normal), everything (detailed)."""

from __future__ import annotations

from google.protobuf import text_format

from processor.component import ComponentBase, CreateSettings
from processor.exporters.debug.config import DebugConfig
from processor.model.batch import Batch, Signal


class DebugExporter(ComponentBase):
    def __init__(self, settings: CreateSettings, config: DebugConfig) -> None:
        self.log = settings.logger
        self.verbosity = config.verbosity
        self.sent = settings.telemetry.exporter_sent
        self.id = str(settings.id)

    async def consume(self, batch: Batch) -> None:
        items = batch.item_count()
        noun = {Signal.TRACES: "spans", Signal.LOGS: "log records", Signal.METRICS: "data points"}[batch.signal]
        self.log.info("%s: %d %s, %d stream records, %d anomalies", batch.signal.value, items, noun,
                      len(batch.streams), len(batch.anomalies))
        if self.verbosity != "basic":
            self._details(batch)
        self.sent.labels(self.id, batch.signal.value).inc(items)

    def _details(self, batch: Batch) -> None:
        if self.verbosity == "detailed":
            self.log.info("%s", text_format.MessageToString(batch.request, as_utf8=True))
        elif batch.signal is Signal.TRACES:
            for rs in batch.request.resource_spans:
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        self.log.info("span %s %s trace=%s events=%d", span.name, span.span_id.hex(),
                                      span.trace_id.hex(), len(span.events))
        for record in batch.streams:
            self.log.info("stream %s", text_format.MessageToString(record, as_one_line=True, as_utf8=True))
        for anomaly in batch.anomalies:
            self.log.info("anomaly %s", text_format.MessageToString(anomaly, as_one_line=True, as_utf8=True))
