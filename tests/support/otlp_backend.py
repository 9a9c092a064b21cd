"""A scripted OTLP backend for the otlp/otlphttp exporter tests: gRPC and HTTP on 127.0.0.1, answers on cue.

Every request is recorded with its arrival time, headers and raw body (after gzip), whatever the answer. The answer to
each request is the next entry of `script` (then `ok`):

    backend = await ScriptedBackend().start()
    backend.script += [Answer.unavailable(retry_after=2.0), Answer.ok()]
    ...
    await backend.down()   # the ports stop answering (connection refused) until `up()`, on the same ports

`Answer.partial(n)` reports n rejected items; `Answer.status(grpc_code, http_status)` refuses with that status.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

import grpc
from aiohttp import web

from processor.model.batch import REQUEST_TYPES, Signal
from processor.receivers.otlp.export import RESPONSE_TYPES
from processor.receivers.otlp.failure import Failure

_SERVICES = {Signal.TRACES: "opentelemetry.proto.collector.trace.v1.TraceService",
             Signal.LOGS: "opentelemetry.proto.collector.logs.v1.LogsService",
             Signal.METRICS: "opentelemetry.proto.collector.metrics.v1.MetricsService"}
_REJECTED = {Signal.TRACES: "rejected_spans", Signal.LOGS: "rejected_log_records",
             Signal.METRICS: "rejected_data_points"}


@dataclasses.dataclass(frozen=True)
class Answer:
    grpc_code: grpc.StatusCode = grpc.StatusCode.OK
    http_status: int = 200
    retry_after: float | None = None
    rejected: int = 0
    message: str = ""

    @classmethod
    def ok(cls) -> Answer:
        return cls()

    @classmethod
    def partial(cls, rejected: int, message: str = "some items were refused") -> Answer:
        return cls(rejected=rejected, message=message)

    @classmethod
    def unavailable(cls, retry_after: float | None = None) -> Answer:
        return cls(grpc.StatusCode.UNAVAILABLE, 503, retry_after, message="backend overloaded")

    @classmethod
    def status(cls, grpc_code: grpc.StatusCode, http_status: int, message: str = "refused") -> Answer:
        return cls(grpc_code, http_status, message=message)


@dataclasses.dataclass
class Received:
    transport: str  # grpc | http
    signal: Signal
    body: bytes
    at: float  # time.monotonic()
    headers: dict[str, str]
    answer: Answer

    def request(self):
        return REQUEST_TYPES[self.signal].FromString(self.body)


class ScriptedBackend:
    def __init__(self, *, grpc_max_receive: int | None = None, grpc_port: int = 0, http_port: int = 0) -> None:
        self.grpc_max_receive = grpc_max_receive  # a gRPC server's own size limit (RESOURCE_EXHAUSTED over it)
        self.script: list[Answer] = []
        #: Answers for one transport only ("grpc" or "http"), used before `script`.
        self.scripts: dict[str, list[Answer]] = {"grpc": [], "http": []}
        self.received: list[Received] = []
        self.grpc_port = grpc_port  # 0: a free port, kept across down() and up()
        self.http_port = http_port
        self._grpc: grpc.aio.Server | None = None
        self._http: web.AppRunner | None = None
        self._changed = asyncio.Event()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def start(self) -> ScriptedBackend:
        await self.up()
        return self

    async def up(self) -> None:
        options = [] if self.grpc_max_receive is None else [("grpc.max_receive_message_length", self.grpc_max_receive)]
        self._grpc = grpc.aio.server(options=options)
        handlers = [grpc.method_handlers_generic_handler(
            service, {"Export": grpc.unary_unary_rpc_method_handler(self._grpc_handler(signal))})
            for signal, service in _SERVICES.items()]
        self._grpc.add_generic_rpc_handlers(handlers)
        self.grpc_port = self._grpc.add_insecure_port(f"127.0.0.1:{self.grpc_port}")
        await self._grpc.start()
        app = web.Application(client_max_size=256 << 20)
        for signal in Signal:
            app.router.add_post(f"/v1/{signal.value}", self._http_handler(signal))
        self._http = web.AppRunner(app)
        await self._http.setup()
        site = web.TCPSite(self._http, "127.0.0.1", self.http_port, reuse_address=True)
        await site.start()
        self.http_port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - aiohttp has no public port

    async def down(self) -> None:
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        if self._grpc is not None:
            await self._grpc.stop(grace=0)
            self._grpc = None

    async def stop(self) -> None:
        await self.down()

    def _next(self, transport: str, signal: Signal, body: bytes, headers: dict[str, str]) -> Answer:
        own = self.scripts[transport]
        answer = own.pop(0) if own else self.script.pop(0) if self.script else Answer.ok()
        self.received.append(Received(transport, signal, body, time.monotonic(), headers, answer))
        self._changed.set()
        return answer

    def _response(self, signal: Signal, answer: Answer):
        response = RESPONSE_TYPES[signal]()
        if answer.rejected:
            setattr(response.partial_success, _REJECTED[signal], answer.rejected)
            response.partial_success.error_message = answer.message
        return response

    def _grpc_handler(self, signal: Signal):
        async def handle(body: bytes, context: grpc.aio.ServicerContext) -> bytes:
            headers = {item.key: item.value for item in (context.invocation_metadata() or ())}
            answer = self._next("grpc", signal, body, headers)
            if answer.grpc_code is not grpc.StatusCode.OK:
                status = Failure(answer.grpc_code, answer.http_status, answer.message,
                                 retry_after=answer.retry_after).status()
                await context.abort(answer.grpc_code, answer.message,
                                    trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),))
            return self._response(signal, answer).SerializeToString()

        return handle

    def _http_handler(self, signal: Signal):
        async def handle(request: web.Request) -> web.Response:
            body = await request.read()  # aiohttp undoes Content-Encoding: gzip itself
            answer = self._next("http", signal, body, dict(request.headers))
            if answer.http_status != 200:
                status = Failure(answer.grpc_code, answer.http_status, answer.message).status()
                headers = {} if answer.retry_after is None else {"Retry-After": str(int(answer.retry_after))}
                return web.Response(status=answer.http_status, body=status.SerializeToString(), headers=headers,
                                    content_type="application/x-protobuf")
            return web.Response(body=self._response(signal, answer).SerializeToString(),
                                content_type="application/x-protobuf")

        return handle

    def bodies(self, transport: str | None = None) -> list[Received]:
        return [r for r in self.received if transport is None or r.transport == transport]

    async def wait_for(self, count: int, *, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` requests have arrived (any answer)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.received)} of {count} requests arrived in {timeout}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.received
