"""A TCP proxy in front of a broker, to cut the network and restore it: a Kafka outage without losing
the broker's data (the embedded broker keeps topics in memory only, so a real restart empties it).
Given an SSL context it terminates TLS, as a TLS listener in front of a broker does: the embedded broker's own
TLS does not work (tansu 0.6 refuses --cert together with --key)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from pathlib import Path

from processor.kafka.embedded import EmbeddedBroker, free_port


class CuttableProxy:
    """Listens on its own loopback port in a background thread and forwards to `target`."""

    def __init__(self, target: tuple[str, int], port: int | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.target = target
        self.port = port or free_port()
        self.ssl_context = ssl_context
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kafka-proxy", daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._clients: set[asyncio.StreamWriter] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self._released = asyncio.Event()

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    def stop(self) -> None:
        """Stop listening and drop every open connection, as a dead broker or network would."""
        asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(10)

    def hold(self) -> None:
        """Keep the broker's answers on the connections open now until `release`; their requests still reach the
        broker, and new connections are not held (a test's consumer reads what the broker has)."""
        asyncio.run_coroutine_threadsafe(self._hold(), self._loop).result(10)

    def release(self) -> None:
        asyncio.run_coroutine_threadsafe(self._release(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True,
                                                      ssl=self.ssl_context)

    async def _hold(self) -> None:
        self._released = asyncio.Event()
        self._held = set(self._clients)

    async def _release(self) -> None:
        self._held = set()
        self._released.set()

    async def _cut(self) -> None:
        await self._release()  # the held answers go nowhere now
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        self._clients.add(writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if writer in self._held:
                    await self._released.wait()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)
        self._clients.discard(writer)


class FlakyKafka:
    """A broker reached through a proxy: `stop()` cuts it off, `start()` brings it back, data intact.
    With `ssl_context` the proxy terminates TLS."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.proxy_port = free_port()
        self.broker = EmbeddedBroker(advertised=f"127.0.0.1:{self.proxy_port}")
        self.proxy = CuttableProxy((self.broker.host, self.broker.port), self.proxy_port, ssl_context=ssl_context)
        self.bootstrap = f"127.0.0.1:{self.proxy_port}"

    def open(self) -> FlakyKafka:
        self.broker.start()
        self.proxy.start()
        return self

    def stop(self) -> None:
        self.proxy.stop()

    def start(self) -> None:
        self.proxy.start()

    def hold(self) -> None:
        """The broker takes requests on the connections open now but its answers wait (CuttableProxy.hold)."""
        self.proxy.hold()

    def release(self) -> None:
        self.proxy.release()

    def close(self) -> None:
        self.proxy.close()
        self.broker.stop()


class TlsKafka(FlakyKafka):
    """A broker reached only over TLS, through a TLS-terminating proxy; with `client_ca` it requires a client
    certificate signed by that CA (mTLS)."""

    def __init__(self, cert: Path, key: Path, *, client_ca: Path | None = None) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if client_ca is not None:
            context.load_verify_locations(client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        super().__init__(context)
