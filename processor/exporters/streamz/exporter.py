"""The streamz exporter: hands each stream record, its chunks and its anomalies to the streamz extension.

A final record's chunks (times and stalls, as the `stream` processor measured them) ride beside it on the batch
(`Batch.chunks`); a record without any (no chunk events) is drawn from its own times.

The extension (processor/extensions/streamz) keeps the most recent streams and serves the page;
this exporter is only how pipeline data reaches it, since an extension receives none. It finds its
extension at start in the host's components, so the extension must be in service.extensions.
Nothing is sent anywhere: consume never blocks and never fails on account of the page.
"""

from __future__ import annotations

from processor.component import ComponentBase, CreateSettings
from processor.exporters.streamz.config import StreamzExporterConfig
from processor.extensions.streamz.buffer import StreamBuffer
from processor.extensions.streamz.extension import StreamzExtension
from processor.model.batch import Batch
from processor.model.records import to_json_dict
from processor.service.host import Host


class StreamzExporter(ComponentBase):
    def __init__(self, settings: CreateSettings, config: StreamzExporterConfig) -> None:
        self.id = str(settings.id)
        self.extension_id = config.extension
        self.buffer: StreamBuffer | None = None
        self.sent_streams = settings.telemetry.exporter_sent.labels(self.id, "streams")
        self.sent_anomalies = settings.telemetry.exporter_sent.labels(self.id, "anomalies")

    async def start(self, host: Host) -> None:
        extension = host.components.get(f"extension/{self.extension_id}")
        if not isinstance(extension, StreamzExtension):
            raise RuntimeError(f'exporter {self.id} feeds the streamz extension "{self.extension_id}", which is not '
                               f"running: configure extensions::{self.extension_id} and add it to service::extensions")
        self.buffer = extension.buffer

    async def consume(self, batch: Batch) -> None:
        if self.buffer is None or not (batch.streams or batch.anomalies):
            return
        chunks = {item.span_id: item for item in batch.chunks}
        for record in batch.streams:
            self.buffer.add_stream(to_json_dict(record), chunks.get(record.span_id))
        for anomaly in batch.anomalies:
            self.buffer.add_anomaly(to_json_dict(anomaly))
        self.sent_streams.inc(len(batch.streams))
        self.sent_anomalies.inc(len(batch.anomalies))
