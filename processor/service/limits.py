"""The process's open-files limit, and what happens when it runs out.

Every connection is a file descriptor. Shells and many service managers start a process with a soft limit of
1024 while the hard limit is far higher; at 1024, a thousand idle connections were enough to stop every listener
(OTLP, health, metrics) from accepting. So the soft limit is raised to the hard one at start, as servers do.

When descriptors do run out, asyncio logs a traceback for every failed accept(), many a second per listener (73,141
in a minute in tests/reliability/test_idle_connections.py): `AcceptFailures` logs the first one, without a
traceback, and counts them all (`tokenstream_accept_failures_total`).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from prometheus_client import Counter

log = logging.getLogger("tokenstream.service")

_OUT_OF_RESOURCES = "socket.accept() out of system resource"  # asyncio's message for EMFILE, ENFILE, ENOBUFS, ENOMEM


def raise_open_files_limit() -> int:
    """Raises the soft RLIMIT_NOFILE to the hard one, and logs the limit the process runs with; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard or (hard == resource.RLIM_INFINITY and soft >= _INFINITE_TARGET):
        log.info("open files: the limit is %s", _limit(soft))
        return soft
    target = _INFINITE_TARGET if hard == resource.RLIM_INFINITY else hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("open files: could not raise the soft limit %d to the hard limit %s (%s); each connection takes "
                    "one, so raise it for the process (ulimit -n, LimitNOFILE=)", soft, _limit(hard), exc)
        return soft
    log.info("open files: raised the soft limit from %d to %d (the hard limit is %s)", soft, target, _limit(hard))
    return target


#: With no hard limit, the soft one goes this high (the kernel's default nr_open).
_INFINITE_TARGET = 1 << 20


def _limit(value: int) -> str:
    return "unlimited" if value == resource.RLIM_INFINITY else str(value)


class AcceptFailures:
    """The event loop's exception handler for failed accept() calls: the first is logged, every one counted; other
    errors go to the handler that was there before."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self._logged = False
        self._previous: Any = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._previous = loop.get_exception_handler()
        loop.set_exception_handler(self)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != _OUT_OF_RESOURCES:
            if self._previous is not None:
                self._previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        listener = _address(context.get("socket"))
        self.counter.labels(listener).inc()
        if not self._logged:
            self._logged = True
            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            log.error("cannot accept connections on %s: %s (open files limit %s); retrying every second, counting "
                      "failures in tokenstream_accept_failures_total. Idle connections close after their "
                      "idle_timeout; lower max_connections or raise the limit.", listener, context.get("exception"),
                      _limit(soft))


def _address(sock: Any) -> str:
    try:
        host, port = sock.getsockname()[:2]
    except (AttributeError, OSError, ValueError):
        return "unknown"
    return f"{host}:{port}"
