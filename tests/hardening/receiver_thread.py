"""The real otlp receiver on 127.0.0.1 port 0, served by its own event loop in a background thread.

Hypothesis drives plain (blocking) test functions, so the receiver gets a loop of its own; the
test thread talks to it only through sockets, as a client on another host would.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from processor.component import Kind
from processor.model.batch import Signal
from processor.receivers.otlp import factory
from processor.receivers.otlp.config import OtlpReceiverConfig
from processor.service.fanout import SignalRouter
from processor.service.host import Host
from processor.testing import SinkConsumer, create_settings

START_TIMEOUT_S = 20


class ReceiverThread:
    """`with ReceiverThread(limit) as rx:` -> rx.http_port, rx.grpc_port, rx.sink; both transports share `limit`."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="otlp-receiver", daemon=True)
        self.sink: SinkConsumer | None = None
        self._receiver = None

    def __enter__(self) -> ReceiverThread:
        self._thread.start()
        self.call(self._start())
        return self

    def __exit__(self, *exc_info) -> None:
        self.call(self._receiver.shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(START_TIMEOUT_S)
        self.loop.close()

    @property
    def http_port(self) -> int:
        return self._receiver.http_port

    @property
    def grpc_port(self) -> int:
        return self._receiver.grpc_port

    def alive(self) -> bool:
        return self._thread.is_alive() and self.loop.is_running()

    def call(self, coroutine, timeout: float = START_TIMEOUT_S):
        future: Future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def clear_sink(self) -> int:
        """Forget what arrived (so that memory can return to baseline); returns how many items that was."""

        async def clear() -> int:
            count = self.sink.item_count
            self.sink.reset()
            return count

        return self.call(clear())

    async def _start(self) -> None:
        self.sink = SinkConsumer()
        limits = {"grpc": {"endpoint": "127.0.0.1:0", "max_recv_msg_size": self.limit_bytes},
                  "http": {"endpoint": "127.0.0.1:0", "max_request_size": self.limit_bytes}}
        config = OtlpReceiverConfig.model_validate({"protocols": limits})
        settings = create_settings("otlp", Kind.RECEIVER)
        self._receiver = factory.create(settings, config, SignalRouter({s: self.sink for s in Signal}))
        await self._receiver.start(Host(settings.telemetry))
