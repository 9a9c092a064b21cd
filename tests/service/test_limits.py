"""The accept-failure handler: one log line and a count for a listener out of descriptors; other errors as before."""

from __future__ import annotations

import asyncio
import logging
import socket

from processor.service.limits import AcceptFailures
from processor.service.telemetry import SelfTelemetry


async def test_accept_failures_are_logged_once_and_counted_and_other_errors_still_reach_the_old_handler(caplog):
    loop = asyncio.get_running_loop()
    telemetry, others = SelfTelemetry(), []
    loop.set_exception_handler(lambda _loop, context: others.append(context["message"]))
    try:
        AcceptFailures(telemetry.accept_failures).install(loop)
        with socket.socket() as listener, caplog.at_level(logging.INFO):
            listener.bind(("127.0.0.1", 0))
            port = listener.getsockname()[1]
            for _ in range(50):
                loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                             "exception": OSError(24, "Too many open files"), "socket": listener})
            loop.call_exception_handler({"message": "Task exception was never retrieved"})
    finally:
        loop.set_exception_handler(None)
    lines = [r.getMessage() for r in caplog.records if "cannot accept" in r.getMessage()]
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "Too many open files" in lines[0]
    assert not any(r.exc_info for r in caplog.records)
    assert telemetry.registry.get_sample_value("tokenstream_accept_failures_total",
                                               {"listener": f"127.0.0.1:{port}"}) == 50
    assert others == ["Task exception was never retrieved"]
