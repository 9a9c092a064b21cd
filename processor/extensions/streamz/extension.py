"""The streamz extension: a live page of the most recent streams, like the Collector's zpages.

An extension receives no pipeline data, so the `streamz` exporter (processor/exporters/streamz)
feeds this extension's buffer; put that exporter in the traces pipeline, after the `stream`
processor:

    extensions:
      streamz: {endpoint: 127.0.0.1:55680, max_streams: 200}
    exporters:
      streamz: {}                 # feeds extension `streamz`; `extension: streamz/other` for another one
    service:
      extensions: [streamz]
      pipelines:
        traces: {..., exporters: [..., streamz]}

Then open http://127.0.0.1:55680/streamz. The page shows route, model, outcome and TTFT of each
stream, a timeline of its chunk arrivals with its stalls marked, its stall count and time stalled, and its
anomalies; it can be filtered by route, outcome and anomaly kind, and polls /streamz/api/streams to refresh
without reloading. What counts as a stall is the `stream` processor's: processors::stream::cadence (stall_gap,
stall_factor); the page draws what it found.
"""

from __future__ import annotations

from processor.component import ComponentBase, CreateSettings
from processor.extensions.streamz.buffer import StreamBuffer
from processor.extensions.streamz.config import StreamzConfig
from processor.extensions.streamz.server import build_app
from processor.service.host import Host
from processor.service.http import HttpServer


class StreamzExtension(ComponentBase):
    def __init__(self, settings: CreateSettings, config: StreamzConfig) -> None:
        self.log = settings.logger
        self.config = config
        #: Filled by the streamz exporter; readable before start, so the exporter may start in any order.
        self.buffer = StreamBuffer(config.max_streams)
        self._server: HttpServer | None = None

    @property
    def port(self) -> int | None:
        """The port actually bound, useful when the endpoint asks for port 0."""
        return self._server.port if self._server else None

    async def start(self, host: Host) -> None:
        self._server = HttpServer(build_app(self.buffer), self.config.endpoint)
        await self._server.start()
        self.log.info("live stream view on http://%s:%d/streamz", self.config.endpoint.rpartition(":")[0], self.port)

    async def shutdown(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=0.5)
            self._server = None
