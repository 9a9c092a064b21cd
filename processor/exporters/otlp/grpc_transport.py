"""OTLP/gRPC as a client: one channel, the encoded request sent as it is, the answer read as the spec says.

Retryable (OTLP specification): CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and
RESOURCE_EXHAUSTED when the server sent a RetryInfo; its `retry_delay` is the wait. RESOURCE_EXHAUSTED saying the
message is larger than the server's limit means: cut the request. Every other code is permanent.
"""

from __future__ import annotations

import re

import grpc
from google.rpc import error_details_pb2, status_pb2

from processor.exporters.otlp.config import OtlpExporterConfig
from processor.exporters.otlp.outcome import Outcome, rejected_items
from processor.model.batch import Signal
from processor.receivers.otlp.export import RESPONSE_TYPES

_METHODS = {
    Signal.TRACES: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    Signal.LOGS: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    Signal.METRICS: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
}
_RETRYABLE = frozenset({grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED,
                        grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS})
_TOO_LARGE = re.compile(r"larger than|too large|exceeds", re.IGNORECASE)


class GrpcTransport:
    def __init__(self, config: OtlpExporterConfig) -> None:
        self.config = config
        self.target, self.secure = config.target()
        self.metadata = tuple(config.header_items())
        self.compression = grpc.Compression.Gzip if config.compression == "gzip" else grpc.Compression.NoCompression
        self.channel: grpc.aio.Channel | None = None
        self._calls: dict[Signal, grpc.aio.UnaryUnaryMultiCallable] = {}

    @property
    def peer(self) -> str:
        return self.target

    async def start(self) -> None:
        options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", 16 << 20)]
        tls = self.config.tls
        if tls.server_name_override:
            options.append(("grpc.ssl_target_name_override", tls.server_name_override))
        if self.secure:
            self.channel = grpc.aio.secure_channel(self.target, tls.grpc_credentials(), options=options,
                                                   compression=self.compression)
        else:
            self.channel = grpc.aio.insecure_channel(self.target, options=options, compression=self.compression)
        # Bytes in, bytes out: the body is already encoded, and the answer is decoded here only to read it.
        self._calls = {signal: self.channel.unary_unary(method) for signal, method in _METHODS.items()}

    async def send(self, signal: Signal, body: bytes) -> Outcome:
        try:
            answer = await self._calls[signal](body, timeout=self.config.timeout, metadata=self.metadata)
        except grpc.aio.AioRpcError as error:
            return classify(error.code(), error.details() or "", error.trailing_metadata())
        rejected, message = rejected_items(RESPONSE_TYPES[signal].FromString(answer))
        return Outcome.accepted(rejected, message)

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close(grace=None)
            self.channel = None


def classify(code: grpc.StatusCode, details: str, trailing) -> Outcome:
    delay = retry_delay(trailing)
    message = f"{code.name}: {details}"
    if code in _RETRYABLE or (code is grpc.StatusCode.RESOURCE_EXHAUSTED and delay is not None):
        return Outcome.retry(message, delay)
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and _TOO_LARGE.search(details):
        return Outcome.too_large(message)
    return Outcome.permanent(message)


def retry_delay(trailing) -> float | None:
    """The RetryInfo delay in a grpc-status-details-bin trailer, in seconds; None without one."""
    for key, value in trailing or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                detail.Unpack(info)
                return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None
