"""A small aiohttp server on one endpoint, for the pieces that serve HTTP (telemetry, health, metrics)."""

from __future__ import annotations

import ssl

from aiohttp import web

from processor.config.types import split_endpoint
from processor.service.workers import shares_ports


class HttpServer:
    def __init__(self, app: web.Application, endpoint: str, *, ssl_context: ssl.SSLContext | None = None,
                 reuse_port: bool = False) -> None:
        self.app = app
        self.endpoint = endpoint
        self.ssl_context = ssl_context
        self.reuse_port = reuse_port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        host, port = split_endpoint(self.endpoint)
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        # Worker processes share their ports with SO_REUSEPORT; elsewhere a taken port fails start-up.
        site = web.TCPSite(self._runner, host or "0.0.0.0", port, ssl_context=self.ssl_context,
                           reuse_port=self.reuse_port or shares_ports() or None)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self, grace: float = 5.0) -> None:
        if self._runner is not None:
            self._runner._shutdown_timeout = grace  # noqa: SLF001 - aiohttp has no public knob for this
            await self._runner.cleanup()
            self._runner = None
