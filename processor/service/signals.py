"""SIGTERM and SIGINT as the Collector takes them: the first one starts the graceful drain; every later one is
logged and ignored. The drain is bounded by service.shutdown_timeout either way, and SIGKILL stops the process at
once. Once the drain is over (`ignore_from_now`), they are ignored outright while the process exits.

The handlers are Python's own (`signal.signal`), with a wakeup socket so that a signal wakes the event loop whatever
thread the kernel delivered it to. Not the loop's `add_signal_handler`: asyncio puts the default action back when
its loop closes, and so does the interpreter for Python handlers as it finalizes (not for SIG_IGN); a second signal
in that teardown killed the process with -15 (or -2), a failed exit for a drain that had gone well.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import socket
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    def __init__(self, on_first: Callable[[signal.Signals], None], on_again: Callable[[signal.Signals], None]) -> None:
        self.on_first = on_first
        self.on_again = on_again
        #: next() on it is one call, which a handler nested in this one cannot split: exactly one signal is first
        self._count = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: tuple[socket.socket, socket.socket] | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """From now on, until the process exits. Call it from the main thread, on the running loop."""
        self._loop = loop
        reader, writer = self._wakeup = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        loop.add_reader(reader.fileno(), _drain, reader)
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._received)

    def ignore_from_now(self) -> None:
        """The drain is over: every stop signal is ignored by the kernel until the process is gone."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if self._wakeup is not None:
            signal.set_wakeup_fd(-1)
            self._loop.remove_reader(self._wakeup[0].fileno())
            for end in self._wakeup:
                end.close()
            self._wakeup = None

    def _received(self, signum: int, _frame: object) -> None:
        """Runs in the main thread, between two bytecodes (another signal's handler may run inside it): it only hands
        the work to the loop, while there is one."""
        action = self.on_first if next(self._count) == 0 else self.on_again
        sig = signal.Signals(signum)
        try:
            self._loop.call_soon_threadsafe(action, sig)
        except RuntimeError:  # the loop has closed: the process is on its way out
            action(sig)


def _drain(reader: socket.socket) -> None:
    try:
        while reader.recv(512):
            pass
    except BlockingIOError:
        pass


def log_repeated(log: logging.Logger, what: str) -> Callable[[signal.Signals], None]:
    """The `on_again` of a process that is draining `what`."""
    def again(sig: signal.Signals) -> None:
        log.warning("received %s again while %s: ignored; the drain ends within service.shutdown_timeout, and "
                    "SIGKILL stops the process at once", sig.name, what)

    return again
