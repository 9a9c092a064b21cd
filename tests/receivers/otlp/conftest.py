"""Fixtures for the otlp receiver tests: a receiver on 127.0.0.1 port 0 behind a SignalRouter, and test PKI."""

from __future__ import annotations

import pytest

from processor.component import Kind
from processor.receivers.otlp import factory
from processor.receivers.otlp.config import OtlpReceiverConfig
from processor.service.fanout import SignalRouter
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer, create_settings
from tests.support.pki import Pki, pki  # noqa: F401 - the session fixture, for the security tests

LOCAL_BOTH = {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}


@pytest.fixture
def sink() -> SinkConsumer:
    return SinkConsumer()


@pytest.fixture
async def start_receiver():
    """`await start_receiver(protocols=..., routes=...)`: a started receiver; every one is shut down afterwards."""
    started = []

    async def start(protocols: dict | None = None, routes: dict | None = None,
                    telemetry: SelfTelemetry | None = None, **settings):
        config = OtlpReceiverConfig.model_validate({"protocols": protocols or LOCAL_BOTH, **settings})
        settings = create_settings("otlp", Kind.RECEIVER, telemetry=telemetry)
        receiver = factory.create(settings, config, SignalRouter(routes or {}))
        started.append(receiver)
        await receiver.start(Host(settings.telemetry))
        return receiver

    yield start
    for receiver in started:
        await receiver.shutdown()
