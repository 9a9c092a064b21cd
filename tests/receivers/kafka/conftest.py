"""Fixtures for the kafka receiver tests: receivers built by hand on the session broker."""

from __future__ import annotations

import pytest

from processor.component import Kind
from processor.receivers.kafka import KafkaReceiver, KafkaReceiverConfig
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings


@pytest.fixture
async def start_receiver(kafka_bootstrap):
    """`await start_receiver(topic, consumer, **config)`: a started kafka receiver; all are shut down afterwards."""
    started: list[KafkaReceiver] = []

    async def start(topic: str, consumer, *, host: Host | None = None, name: str = "kafka",
                    telemetry: SelfTelemetry | None = None, **config) -> KafkaReceiver:
        settings = create_settings(name, Kind.RECEIVER, telemetry=telemetry)
        options = {"brokers": [kafka_bootstrap], "topic": topic, "session_timeout": "6s",
                   "heartbeat_interval": "500ms", **config}
        receiver = KafkaReceiver(settings, KafkaReceiverConfig.model_validate(options), consumer)
        await receiver.start(host or Host(settings.telemetry))
        started.append(receiver)
        return receiver

    yield start
    for receiver in reversed(started):
        await receiver.shutdown()
