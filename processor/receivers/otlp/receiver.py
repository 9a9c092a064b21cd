"""The otlp receiver: OTLP over gRPC and HTTP into the pipelines of each signal."""

from __future__ import annotations

import asyncio
import resource

from processor.component import ComponentBase, CreateSettings
from processor.receivers.otlp.config import OtlpReceiverConfig, Protocols
from processor.receivers.otlp.export import ExportHandler
from processor.receivers.otlp.grpc_server import GrpcReceiver
from processor.receivers.otlp.http_server import HttpReceiver
from processor.service.fanout import SignalRouter
from processor.service.host import Host

#: How long requests in flight may take to finish once shutdown has begun.
SHUTDOWN_GRACE_S = 5.0


class OtlpReceiver(ComponentBase):
    def __init__(self, settings: CreateSettings, config: OtlpReceiverConfig, next_consumer: SignalRouter) -> None:
        self.id = str(settings.id)
        self.log = settings.logger
        self.config = config
        self.handler = ExportHandler(settings, next_consumer, max_in_flight=config.max_in_flight_requests,
                                     max_items=config.max_request_items)
        self._grpc: GrpcReceiver | None = None
        self._http: HttpReceiver | None = None

    @property
    def grpc_port(self) -> int | None:
        """The bound gRPC port (useful with endpoint port 0), or None when gRPC is off or not started."""
        return self._grpc.port if self._grpc else None

    @property
    def http_port(self) -> int | None:
        return self._http.port if self._http else None

    async def start(self, host: Host) -> None:
        protocols = self.config.protocols
        self._check_open_files(protocols)
        try:
            if protocols.grpc is not None:
                self._grpc = GrpcReceiver(protocols.grpc, self.handler)
                await self._grpc.start()
                self.log.info("receiver %s: OTLP/gRPC on %s (port %d)", self.id, protocols.grpc.endpoint,
                              self._grpc.port)
            if protocols.http is not None:
                self._http = HttpReceiver(protocols.http, self.handler)
                await self._http.start()
                self.log.info("receiver %s: OTLP/HTTP on %s (port %d)", self.id, protocols.http.endpoint,
                              self._http.port)
        except (OSError, ValueError) as exc:
            await self.shutdown()
            raise RuntimeError(f"receiver {self.id}: {exc}") from exc

    def _check_open_files(self, protocols: Protocols) -> None:
        """As nginx does for worker_connections: say so when the connection caps exceed the open-files limit, as
        accept() then fails on every listener before the caps are reached."""
        caps = {name: p.max_connections for name, p in (("grpc", protocols.grpc), ("http", protocols.http)) if p}
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and sum(caps.values()) >= soft:
            keys = " + ".join(f"protocols::{name}::max_connections ({cap})" for name, cap in caps.items())
            self.log.warning("receiver %s: %s exceed the open files limit (%d): past it no listener can accept a "
                             "connection; lower max_connections or raise the limit (ulimit -n)", self.id, keys, soft)

    async def shutdown(self) -> None:
        """Stop accepting at once on both transports, then let requests in flight finish (bounded)."""
        stops = [r.stop(SHUTDOWN_GRACE_S) for r in (self._grpc, self._http) if r is not None]
        await asyncio.gather(*stops)
