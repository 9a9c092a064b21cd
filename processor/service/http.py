"""A small aiohttp server on one endpoint, for the pieces that serve HTTP (receiver, telemetry, health, metrics).

Every one closes idle connections (`idle_timeout`; aiohttp's own default is an hour), and may cap how many it keeps
open (`max_connections`): each is a file descriptor, and a process out of them accepts nothing on any port.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

from aiohttp import web

from processor.config.types import split_endpoint
from processor.service.workers import shares_ports

#: The Collector's HTTP server idle_timeout.
IDLE_TIMEOUT_S = 60.0


class HttpServer:
    def __init__(self, app: web.Application, endpoint: str, *, ssl_context: ssl.SSLContext | None = None,
                 reuse_port: bool = False, idle_timeout: float = IDLE_TIMEOUT_S, max_connections: int | None = None,
                 on_refused: Callable[[], None] | None = None) -> None:
        """`on_refused` is called for each connection closed at once because `max_connections` were open."""
        self.app = app
        self.endpoint = endpoint
        self.ssl_context = ssl_context
        self.reuse_port = reuse_port
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.on_refused = on_refused
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        host, port = split_endpoint(self.endpoint)
        # aiohttp's keep-alive timer runs from the moment a connection opens, and from each answer, until a whole
        # request's headers have come: it closes connections that never send, and ones that send headers a byte
        # at a time, as well as idle ones.
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                                     keepalive_timeout=self.idle_timeout)
        await self._runner.setup()
        if self.max_connections is not None:
            self._cap(self._runner.server)
        # Worker processes share their ports with SO_REUSEPORT; elsewhere a taken port fails start-up.
        site = web.TCPSite(self._runner, host or "0.0.0.0", port, ssl_context=self.ssl_context,
                           reuse_port=self.reuse_port or shares_ports() or None)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def _cap(self, server: web.Server) -> None:
        """Close a connection at once when `max_connections` are open. aiohttp's server registers each connection
        as it is made (web.Server.connection_made, which every connection calls); counting there is exact, where
        a count taken when asyncio asks for a protocol misses the connections accepted in the same burst."""
        register = server.connection_made

        def connection_made(handler, transport: asyncio.Transport) -> None:
            register(handler, transport)
            if len(server.connections) > self.max_connections:
                # after the handler has set itself up (it does once this returns), then connection_lost unregisters it
                asyncio.get_running_loop().call_soon(transport.close)
                if self.on_refused is not None:
                    self.on_refused()

        server.connection_made = connection_made

    async def stop(self, grace: float = 5.0) -> None:
        if self._runner is not None:
            self._runner._shutdown_timeout = grace  # noqa: SLF001 - aiohttp has no public knob for this
            await self._runner.cleanup()
            self._runner = None
