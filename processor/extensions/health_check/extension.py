"""The health_check extension: an HTTP endpoint for liveness and readiness probes.

GET answers 200 while the service is running, and 503 while it starts or drains, so a load
balancer stops sending before shutdown and starts only once every component is up.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from aiohttp import web

from processor.component import ComponentBase, CreateSettings
from processor.extensions.health_check.config import HealthCheckConfig
from processor.service.host import Host, Status
from processor.service.http import HttpServer


class HealthCheckExtension(ComponentBase):
    def __init__(self, settings: CreateSettings, config: HealthCheckConfig) -> None:
        self.log = settings.logger
        self.config = config
        self._host: Host | None = None
        self._server: HttpServer | None = None
        self._since = time.time()

    @property
    def port(self) -> int | None:
        """The port actually bound, useful when the endpoint asks for port 0."""
        return self._server.port if self._server else None

    async def start(self, host: Host) -> None:
        self._host = host
        app = web.Application()
        app.router.add_get(self.config.path, self._health)
        self._server = HttpServer(app, self.config.endpoint)
        await self._server.start()
        self._since = time.time()
        self.log.info("health check on http://%s:%d%s", self.config.endpoint.rpartition(":")[0], self.port,
                      self.config.path)

    async def shutdown(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=0.5)
            self._server = None

    async def _health(self, _: web.Request) -> web.Response:
        state = self._host.status if self._host else Status.STARTING
        running = state is Status.RUNNING
        # The Collector's body, plus our lifecycle state
        body = {"status": "Server available" if running else "Server not available", "state": state.value,
                "upSince": datetime.fromtimestamp(self._since, UTC).isoformat().replace("+00:00", "Z"),
                "uptime": f"{time.time() - self._since:.3f}s"}
        return web.json_response(body, status=200 if running else 503)
