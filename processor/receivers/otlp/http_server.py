"""OTLP/HTTP: POST /v1/traces, /v1/logs, /v1/metrics, in protobuf or JSON, answered in the request's encoding."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from google.protobuf.message import Message

from processor.model import otlp_json
from processor.model.batch import Batch, Signal
from processor.receivers.otlp.body import announced_size, read_body
from processor.receivers.otlp.config import HttpConfig
from processor.receivers.otlp.export import PROTOBUF_DECODER, Decoder, ExportHandler
from processor.receivers.otlp.failure import Failure
from processor.receivers.otlp.security import BearerAuth
from processor.service.http import HttpServer
from processor.wire.claims import ClaimsSet

PATHS = {Signal.TRACES: "/v1/traces", Signal.LOGS: "/v1/logs", Signal.METRICS: "/v1/metrics"}
_TRANSPORT = "http"


@dataclass(frozen=True)
class Codec:
    content_type: str
    decoder: Decoder
    encode: Callable[[Message], bytes]


def _decode_json(signal: Signal, body: bytes, span_claims: ClaimsSet) -> Batch:  # decoded: no scan to claim for
    try:
        return Batch(signal, otlp_json.decode(signal, body))
    except otlp_json.OtlpJsonError as exc:
        raise Failure.invalid(str(exc)) from None


PROTOBUF = Codec("application/x-protobuf", PROTOBUF_DECODER, lambda message: message.SerializeToString())
#: Decoding OTLP/JSON peaks at up to 9.6 times the body's bytes, the protobuf built from it included
#: (bench/results/decoded_size.txt).
JSON = Codec("application/json", Decoder(_decode_json, 10.0), otlp_json.encode)
CODECS = {codec.content_type: codec for codec in (PROTOBUF, JSON)}


class HttpReceiver:
    def __init__(self, config: HttpConfig, handler: ExportHandler) -> None:
        self.config = config
        self.handler = handler
        self._auth = BearerAuth(config.auth) if config.auth else None
        self._server: HttpServer | None = None
        self.port: int | None = None

    async def start(self) -> None:
        # We inflate gzip/deflate ourselves (body.py): aiohttp accepts a truncated gzip stream as if it were whole.
        app = web.Application(handler_args={"auto_decompress": False})
        for signal, path in PATHS.items():
            app.router.add_post(path, self._route(signal))
        ssl_context = self.config.tls.ssl_context() if self.config.tls else None
        refused = self.handler.refused_connections(_TRANSPORT)
        server = HttpServer(app, self.config.endpoint, ssl_context=ssl_context, idle_timeout=self.config.idle_timeout,
                            max_connections=self.config.max_connections, on_refused=refused.inc)
        try:
            await server.start()
        except OSError as exc:
            await server.stop(grace=0)
            raise OSError(f"cannot listen for OTLP/HTTP on {self.config.endpoint}: {exc.strerror or exc}") from exc
        self._server, self.port = server, server.port

    async def stop(self, grace: float) -> None:
        """Close the listener at once; requests in flight get `grace` seconds to finish."""
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    def _route(self, signal: Signal) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            return await self._handle(signal, request)

        return handle

    async def _handle(self, signal: Signal, request: web.Request) -> web.Response:
        codec = CODECS.get(request.content_type)
        try:
            if self._auth is not None and (refusal := self._auth.refusal(request.headers.getall("Authorization", []))):
                raise Failure.unauthenticated(refusal)
            if codec is None:
                supported = ", ".join(CODECS)
                return web.Response(status=415, text=f"unsupported content type {request.content_type!r}; "
                                                     f"supported: {supported}")
            size = announced_size(request)
            self.handler.check(signal, _TRANSPORT, (size, codec.decoder) if size is not None else None)
            body = await self._read(request)
            with self.handler.admitted(signal, _TRANSPORT, body, codec.decoder) as decoded:
                response = await self.handler.export(signal, decoded, _TRANSPORT)
        except Failure as failure:
            return _error_response(failure, codec or JSON)
        return web.Response(body=codec.encode(response), content_type=codec.content_type)

    async def _read(self, request: web.Request) -> bytes:
        """The body, within read_timeout of the headers; it holds no place while it comes (export.py)."""
        timeout = self.config.read_timeout
        with self.handler.reading_body():
            try:
                async with asyncio.timeout(timeout):
                    return await read_body(request, self.config.max_request_size)
            except TimeoutError:
                raise Failure.read_timeout(f"the request body did not arrive within read_timeout ({timeout:g}s)") \
                    from None


def _error_response(failure: Failure, codec: Codec) -> web.Response:
    headers = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = str(math.ceil(failure.retry_after))
    if failure.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    response = web.Response(status=failure.http_status, body=codec.encode(failure.status()),
                            content_type=codec.content_type, headers=headers)
    if failure.http_status == 408:  # the rest of that body is not coming: the connection is of no further use
        response.force_close()
    return response
