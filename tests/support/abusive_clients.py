"""Clients that hold a server's resources without sending it anything useful, over real sockets.

- `StalledHttpBodies`: HTTP connections that send a request's headers (`Content-Length: 500`) and then nothing.
- `StalledGrpcCalls`: gRPC Export calls, without a deadline, whose request message never comes.
- `IdleSockets`: TCP connections that never send a byte.

Each is a context manager (sync or async, as its client library is) that closes what it opened, and can say how many
of its connections or calls the server has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import time
from collections.abc import AsyncIterator

import grpc
import pytest

TRACES_PATH = "/v1/traces"
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setblocking(False)
    return sock


def _answered(sock: socket.socket) -> bool:
    """True when the server has answered on this connection, or closed it (the answer is left to be read)."""
    try:
        sock.recv(1, socket.MSG_PEEK)  # b"" (closed) or the first byte of an answer
    except BlockingIOError:
        return False
    except OSError:  # reset
        pass
    return True


def _closed(sock: socket.socket) -> bool:
    """True when the server has closed this connection; whatever it sent first (a gRPC server's SETTINGS) is read
    and dropped."""
    try:
        while sock.recv(65536):
            pass
    except BlockingIOError:
        return False
    except OSError:  # reset
        pass
    return True


class _Sockets:
    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()

    def __exit__(self, *exc) -> None:
        self.close()


class IdleSockets(_Sockets):
    """`count` connections that never send; `failed` counts those the server's backlog had no room for."""

    def __init__(self, port: int, count: int) -> None:
        super().__init__()
        self.port, self.count = port, count
        self.failed = 0

    def __enter__(self) -> IdleSockets:
        for _ in range(self.count):
            try:
                self.sockets.append(_connect(self.port, timeout=2.0))
            except OSError:
                self.failed += 1
        return self

    def ended(self) -> int:
        """How many the server has closed."""
        return sum(1 for sock in self.sockets if _closed(sock))

    def all_ended(self) -> bool:
        return self.ended() == len(self.sockets)


class StalledHttpBodies(_Sockets):
    """Each connection says its body has `content_length` bytes, sends `sent` of them and stalls."""

    def __init__(self, port: int, count: int, *, content_length: int = 500, sent: int = 0,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.port, self.count, self.content_length, self.sent = port, count, content_length, sent
        self.headers = headers or {}

    def __enter__(self) -> StalledHttpBodies:
        extra = "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
        head = (f"POST {TRACES_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                f"Content-Length: {self.content_length}\r\n{extra}\r\n").encode() + b"\n" * self.sent
        for _ in range(self.count):
            sock = _connect(self.port)
            sock.sendall(head)
            self.sockets.append(sock)
        return self

    def ended(self) -> int:
        """How many the server has answered or closed."""
        return sum(1 for sock in self.sockets if _answered(sock))

    def statuses(self) -> list[int]:
        """The status of each answer received so far (a connection closed without one counts as 0)."""
        found = []
        for sock in self.sockets:
            try:
                data = sock.recv(65536, socket.MSG_PEEK)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            found.append(int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0)
        return found


class StalledGrpcCalls:
    """`count` Export calls with no deadline over `channels` connections; each call's request never comes."""

    def __init__(self, port: int, count: int, *, channels: int = 4, metadata=None) -> None:
        self.port, self.count, self.metadata = port, count, metadata
        self._channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(channels)]
        self._release = asyncio.Event()
        self.calls: list[grpc.aio.StreamUnaryCall] = []

    async def _never(self) -> AsyncIterator[bytes]:
        await self._release.wait()
        return
        yield b""  # an async generator that ends without a message once released

    async def __aenter__(self) -> StalledGrpcCalls:
        for index in range(self.count):
            method = self._channels[index % len(self._channels)].stream_unary(EXPORT)
            self.calls.append(method(self._never(), metadata=self.metadata))
        await asyncio.wait_for(asyncio.gather(*(c.channel_ready() for c in self._channels)), 10)
        return self

    def ended(self) -> int:
        return sum(1 for call in self.calls if call.done())

    async def codes(self) -> list[grpc.StatusCode]:
        """The status of each call that has ended."""
        return [await call.code() for call in self.calls if call.done()]

    async def __aexit__(self, *exc) -> None:
        self._release.set()
        for call in self.calls:
            call.cancel()
        for channel in self._channels:
            with contextlib.suppress(Exception):
                await channel.close()


def ensure_open_files(count: int) -> None:
    """Raise this process's soft open-files limit to hold `count` sockets (a CI shell may start at 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count:
        if hard != resource.RLIM_INFINITY and hard < count:
            pytest.skip(f"needs {count} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (count if hard == resource.RLIM_INFINITY else hard, hard))


async def wait_until(predicate, *, timeout: float, interval: float = 0.05) -> bool:
    """Polls `predicate` until it holds (True) or `timeout` passes (False), without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()
