"""Blocking clients for the fuzzers: OTLP/HTTP, raw bytes over a socket, and OTLP/gRPC with raw request bytes."""

from __future__ import annotations

import http.client
import re
import socket
from dataclasses import dataclass

import grpc

from processor.model.batch import Signal

TIMEOUT_S = 10
HTTP_PATHS = {Signal.TRACES: "/v1/traces", Signal.LOGS: "/v1/logs", Signal.METRICS: "/v1/metrics"}
GRPC_METHODS = {Signal.TRACES: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                Signal.LOGS: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                Signal.METRICS: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"}


@dataclass(frozen=True)
class Answer:
    status: int | str  # an HTTP status, or a gRPC status code name
    body: bytes


def http_post(port: int, body: bytes, *, signal: Signal = Signal.TRACES, content_type: str = "application/x-protobuf",
              headers: dict | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        connection.request("POST", HTTP_PATHS[signal], body=body,
                           headers={"Content-Type": content_type, **(headers or {})})
        response = connection.getresponse()
        return Answer(response.status, response.read())
    finally:
        connection.close()


def raw_http(port: int, data: bytes, *, half_close: bool) -> list[int]:
    """Send hand-written HTTP and return every status answered before the server closed the connection.

    With `half_close` we shut our sending side at once, as a client that dies mid-body does; asyncio then
    closes the connection, so an empty list (closed without an answer) is a clean end too.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:  # closed with our bytes still unread: the answers before it still count
            pass
    return [int(status) for status in re.findall(rb"HTTP/1\.[01] (\d{3}) ", bytes(received))]


class GrpcClient:
    """One channel for a whole test; the body goes out as given, so it may be anything but a valid message."""

    def __init__(self, port: int) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", -1)])
        self._methods = {signal: self.channel.unary_unary(path) for signal, path in GRPC_METHODS.items()}

    def export(self, body: bytes, signal: Signal = Signal.TRACES) -> Answer:
        try:
            return Answer("OK", self._methods[signal](body, timeout=TIMEOUT_S))
        except grpc.RpcError as error:
            return Answer(error.code().name, (error.details() or "").encode())

    def close(self) -> None:
        self.channel.close()
