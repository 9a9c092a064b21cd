"""OTLP/gRPC: the Trace, Logs and Metrics services on one grpc.aio server."""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as logs_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as metrics_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as trace_grpc

from processor.model.batch import Signal
from processor.receivers.otlp.config import GrpcConfig
from processor.receivers.otlp.export import ExportHandler
from processor.receivers.otlp.failure import Failure
from processor.receivers.otlp.security import BearerAuth

_SERVICES = (
    (Signal.TRACES, trace_grpc.TraceServiceServicer, trace_grpc.add_TraceServiceServicer_to_server),
    (Signal.LOGS, logs_grpc.LogsServiceServicer, logs_grpc.add_LogsServiceServicer_to_server),
    (Signal.METRICS, metrics_grpc.MetricsServiceServicer, metrics_grpc.add_MetricsServiceServicer_to_server),
)
_TRANSPORT = "grpc"


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
            # gRPC sets SO_REUSEPORT by default, which would let a second server share a taken port silently.
            ("grpc.so_reuseport", 0),
        ]
        server = grpc.aio.server(options=options)
        for signal, base, register in _SERVICES:
            register(_servicer(base, signal, self._export)(), server)
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

    async def _export(self, signal: Signal, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            if self._auth is not None:
                metadata = dict(context.invocation_metadata() or ())
                if not self._auth.allows(metadata.get("authorization")):
                    raise Failure.unauthenticated("missing or invalid bearer token")
            return await self.handler.export(signal, request, _TRANSPORT)
        except Failure as failure:
            details = (("grpc-status-details-bin", failure.status().SerializeToString()),)
            await context.abort(failure.code, failure.message, trailing_metadata=details)


def _servicer(base: type, signal: Signal, export) -> type:
    """A servicer class whose Export hands the request to `export` with its signal."""

    async def Export(self, request: Any, context: grpc.aio.ServicerContext) -> Any:  # noqa: N802 - gRPC's name
        return await export(signal, request, context)

    return type(f"Otlp{base.__name__}", (base,), {"Export": Export})
