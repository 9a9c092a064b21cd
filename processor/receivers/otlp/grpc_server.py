"""OTLP/gRPC: the Trace, Logs and Metrics services on one grpc.aio server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from processor.model.batch import Signal
from processor.receivers.otlp.config import GrpcConfig
from processor.receivers.otlp.export import RESPONSE_TYPES, ExportHandler, decode_protobuf
from processor.receivers.otlp.failure import Failure
from processor.receivers.otlp.security import BearerAuth
from processor.service.workers import shares_ports

_SERVICES = {
    Signal.TRACES: "opentelemetry.proto.collector.trace.v1.TraceService",
    Signal.LOGS: "opentelemetry.proto.collector.logs.v1.LogsService",
    Signal.METRICS: "opentelemetry.proto.collector.metrics.v1.MetricsService",
}
_TRANSPORT = "grpc"

#: Past 1,000 calls waiting for the event loop to pick them up, gRPC cancels calls at random (CANCELLED, no retry
#: delay) before the receiver sees them. The receiver refuses unread, fast enough that a longer wait is fine, and
#: answers every call itself: UNAVAILABLE with a retry delay. (Smaller HTTP/2 windows, tried to bound what waiting
#: calls buffer, starved the calls being read of their bodies: clients timed out.)
_OVERLOAD_OPTIONS = (
    ("grpc.server.max_pending_requests", 10_000),
    ("grpc.server.max_pending_requests_hard_limit", 10_000),
)


class GrpcReceiver:
    def __init__(self, config: GrpcConfig, handler: ExportHandler) -> None:
        self.config = config
        self.handler = handler
        self._auth = BearerAuth(config.auth) if config.auth else None
        self._server: grpc.aio.Server | None = None
        self.port: int | None = None

    async def start(self) -> None:
        options = [
            ("grpc.max_receive_message_length", self.config.max_recv_msg_size),
            # gRPC sets SO_REUSEPORT by default, which would let a second server share a taken port silently;
            # only worker processes share their ports on purpose (the kernel spreads connections over them).
            ("grpc.so_reuseport", 1 if shares_ports() else 0),
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
        self._server, self.port = server, port

    async def stop(self, grace: float) -> None:
        """Refuse new calls at once; calls in flight get `grace` seconds to finish."""
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

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
        received_ns = time.monotonic_ns()
        try:
            if self._auth is not None:
                metadata = dict(context.invocation_metadata() or ())
                if not self._auth.allows(metadata.get("authorization")):
                    raise Failure.unauthenticated("missing or invalid bearer token")
            self.handler.check_route(signal)
            with self.handler.slot(signal, _TRANSPORT):
                body = await anext(aiter(messages), None)
                if body is None:
                    raise Failure.invalid("the call ended without an export request")
                return await self.handler.export(signal, decode_protobuf(signal, body), _TRANSPORT, received_ns,
                                                 _answer_within(context))
        except Failure as failure:
            details = (("grpc-status-details-bin", failure.status().SerializeToString()),)
            if failure.retry_after is not None:  # the trailer the OpenTelemetry SDK exporters read their delay from
                details += (("google.rpc.retryinfo-bin", failure.status().details[0].value),)
            await context.abort(failure.code, failure.message, trailing_metadata=details)


#: Time kept back from the client's deadline to send the refusal before the client gives up.
_DEADLINE_MARGIN_S = 0.5


def _answer_within(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else max(remaining - _DEADLINE_MARGIN_S, 0.05)
