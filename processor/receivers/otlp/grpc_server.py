"""OTLP/gRPC: the Trace, Logs and Metrics services on one grpc.aio server."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from processor.model.batch import Signal
from processor.receivers.otlp.config import GrpcConfig, GrpcServerParameters
from processor.receivers.otlp.export import PROTOBUF_DECODER, RESPONSE_TYPES, ExportHandler
from processor.receivers.otlp.failure import Failure
from processor.receivers.otlp.loop_thread import LoopThread, on_loop
from processor.receivers.otlp.security import BearerAuth
from processor.service.workers import shares_ports

_SERVICES = {
    Signal.TRACES: "opentelemetry.proto.collector.trace.v1.TraceService",
    Signal.LOGS: "opentelemetry.proto.collector.logs.v1.LogsService",
    Signal.METRICS: "opentelemetry.proto.collector.metrics.v1.MetricsService",
}
_TRANSPORT = "grpc"

#: Past 1,000 calls waiting for the server's event loop to pick them up, gRPC cancels calls at random (CANCELLED,
#: no retry delay) before the receiver sees them. The receiver refuses unread, fast enough that a longer wait is
#: fine, and answers every call itself: UNAVAILABLE with a retry delay. (Smaller HTTP/2 windows, tried to bound what
#: waiting calls buffer, starved the calls being read of their bodies: clients timed out.)
_OVERLOAD_OPTIONS = (
    ("grpc.server.max_pending_requests", 10_000),
    ("grpc.server.max_pending_requests_hard_limit", 10_000),
)

#: See start(): short enough that the gRPC thread gets the GIL between the pipeline's steps.
_SWITCH_INTERVAL_S = 0.0005


class GrpcReceiver:
    """The server runs on an event loop of its own (loop_thread.py): it picks calls up and refuses them there, and
    hands the requests it takes to the pipeline's loop."""

    def __init__(self, config: GrpcConfig, handler: ExportHandler) -> None:
        self.config = config
        self.handler = handler
        self._auth = BearerAuth(config.auth) if config.auth else None
        self._server: grpc.aio.Server | None = None
        self._thread: LoopThread | None = None
        self._pipeline_loop: asyncio.AbstractEventLoop | None = None
        self.port: int | None = None

    async def start(self) -> None:
        # The pipeline's loop holds the GIL for milliseconds at a time; at Python's default 5 ms switch interval
        # the gRPC thread then waits for it at every step (a server on its own thread beside a loop busy 5 ms per
        # turn answered 38 calls/s; 922/s at 0.5 ms). Only threads that wait for the GIL see the difference.
        # Process-wide, as the GIL is.
        sys.setswitchinterval(min(sys.getswitchinterval(), _SWITCH_INTERVAL_S))
        self._pipeline_loop = asyncio.get_running_loop()
        thread = LoopThread("otlp-grpc").start()
        try:
            self.port = await thread.run(self._start_server())
        except BaseException:
            thread.stop()
            raise
        self._thread = thread

    async def _start_server(self) -> int:
        options = [
            ("grpc.max_receive_message_length", self.config.max_recv_msg_size),
            # gRPC sets SO_REUSEPORT by default, which would let a second server share a taken port silently;
            # only worker processes share their ports on purpose (the kernel spreads connections over them).
            ("grpc.so_reuseport", 1 if shares_ports() else 0),
            ("grpc.max_allowed_incoming_connections", self.config.max_connections),
            *_connection_options(self.config.keepalive.server_parameters),
            *_OVERLOAD_OPTIONS,
        ]
        server = grpc.aio.server(options=options)
        server.add_generic_rpc_handlers([self._service(signal, name) for signal, name in _SERVICES.items()])
        endpoint = self.config.endpoint
        try:
            if self.config.tls:
                port = server.add_secure_port(endpoint, self.config.tls.grpc_credentials())
            else:
                port = server.add_insecure_port(endpoint)
        except RuntimeError:  # grpc's own text only says to turn on debug logging
            port = 0
        if not port:
            await server.stop(None)
            raise OSError(f"cannot listen for OTLP/gRPC on {endpoint}: the port is already in use, "
                          "or the address is not one of this host's")
        await server.start()
        self._server = server
        return port

    async def stop(self, grace: float) -> None:
        """Refuse new calls at once; calls in flight get `grace` seconds to finish."""
        if self._thread is not None:
            if self._server is not None:
                await self._thread.run(self._server.stop(grace))
                self._server = None
            self._thread.stop()
            self._thread = None

    def _service(self, signal: Signal, name: str) -> grpc.GenericRpcHandler:
        """Export is unary on the wire, but handled as a request stream: the handler runs before the body is read,
        so a request that is refused is refused unread. It takes the raw bytes: decoding them here lets a corrupt
        body be INVALID_ARGUMENT, not UNKNOWN."""

        async def export(messages: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> Any:
            return await self._export(signal, messages, context)

        serialize = RESPONSE_TYPES[signal].SerializeToString
        method = grpc.stream_unary_rpc_method_handler(export, response_serializer=serialize)
        return grpc.method_handlers_generic_handler(name, {"Export": method})

    async def _export(self, signal: Signal, messages: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> Any:
        try:
            return await self._take(signal, messages, context)
        except Failure as failure:
            # A status set and no response, rather than context.abort(): the AbortError that raises ties the call's
            # state into a reference cycle, and with it the request's bytes, until the garbage collector runs. One
            # client sending 45 MB requests back to back, each refused, kept RSS at 400 MiB (median) that way,
            # against 125 MiB now (with the generator closed, below, and memory_limiter's trim after large requests).
            context.set_code(failure.code)
            context.set_details(failure.message)
            context.set_trailing_metadata(_trailers(failure))
        return None

    async def _take(self, signal: Signal, messages: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> Any:
        received_ns = time.monotonic_ns()
        if self._auth is not None:
            values = [value for key, value in context.invocation_metadata() or () if key == "authorization"]
            if refusal := self._auth.refusal(values):
                raise Failure.unauthenticated(refusal)
        self.handler.check(signal, _TRANSPORT)
        self._answer_within(context)
        body = await self._read(messages)
        with self.handler.admitted(signal, _TRANSPORT, body, PROTOBUF_DECODER) as batch:
            answer_within = self._answer_within(context)
            # Bounded here too: the pipeline's own timer fires only when its loop gets a turn, and a long turn (a
            # garbage collection, a batch) at the deadline left the client to time out (DEADLINE_EXCEEDED).
            try:
                async with asyncio.timeout(answer_within):
                    return await on_loop(self._pipeline_loop, self.handler.export(
                        signal, batch, _TRANSPORT, received_ns, answer_within))
            except TimeoutError:
                raise self.handler.undelivered_at_deadline() from None

    async def _read(self, messages: AsyncIterator[bytes]) -> bytes:
        """The request message, within read_timeout of the call's start; it holds no place while it comes."""
        timeout = self.config.read_timeout
        with self.handler.reading_body():
            try:
                async with asyncio.timeout(timeout):
                    received = aiter(messages)
                    body = await anext(received, None)
                    # Closed at once: left open, gRPC's receiving generator holds on to the message it gave, until
                    # the garbage collector finds the call.
                    await received.aclose()
            except TimeoutError:
                raise Failure.read_timeout(f"the export request did not arrive within read_timeout ({timeout:g}s)") \
                    from None
        if body is None:
            raise Failure.invalid("the call ended without an export request")
        return body

    def _answer_within(self, context: grpc.aio.ServicerContext) -> float | None:
        """Seconds left to answer before the client gives up (None: it set no deadline). A call that waited in
        gRPC's queue (or for its body) until its deadline is all but gone is refused: its data could not be
        acknowledged in time, and the client's retry would deliver it twice."""
        remaining = context.time_remaining()
        if remaining is None:
            return None
        if remaining < _TOO_LATE_S:
            raise self.handler.late(_TRANSPORT)
        return remaining - min(_DEADLINE_MARGIN_S, remaining / 2)


def _trailers(failure: Failure) -> tuple[tuple[str, bytes], ...]:
    details = (("grpc-status-details-bin", failure.status().SerializeToString()),)
    if failure.retry_after is not None:  # the trailer the OpenTelemetry SDK exporters read their delay from
        details += (("google.rpc.retryinfo-bin", failure.status().details[0].value),)
    return details


#: gRPC's own limit on a connection's handshake (TLS, and the HTTP/2 preface and settings).
_HANDSHAKE_TIMEOUT_S = 120.0


def _connection_options(parameters: GrpcServerParameters) -> list[tuple[str, int]]:
    """keepalive.server_parameters as gRPC server options (milliseconds). A connection that never sends a byte is
    still in its handshake, which max_connection_idle does not cover: the handshake gets at most as long."""
    def ms(seconds: float) -> int:
        return max(1, round(seconds * 1000))

    options = [("grpc.max_connection_idle_ms", ms(parameters.max_connection_idle)),
               ("grpc.server_handshake_timeout_ms", ms(min(parameters.max_connection_idle, _HANDSHAKE_TIMEOUT_S))),
               ("grpc.keepalive_time_ms", ms(parameters.time)),
               ("grpc.keepalive_timeout_ms", ms(parameters.timeout))]
    if parameters.max_connection_age is not None:
        options.append(("grpc.max_connection_age_ms", ms(parameters.max_connection_age)))
    if parameters.max_connection_age_grace is not None:
        options.append(("grpc.max_connection_age_grace_ms", ms(parameters.max_connection_age_grace)))
    return options


#: Time kept back from the client's deadline to send the refusal before the client gives up (at most half of it).
_DEADLINE_MARGIN_S = 0.5
#: Less time left than this, and not even the refusal of a held request could be sent in time.
_TOO_LATE_S = 0.1
