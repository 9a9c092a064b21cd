"""A started streamz extension on a free loopback port, fed through a started streamz exporter."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession, ClientTimeout

from processor.component import Kind
from processor.exporters.streamz import factory as exporter_factory
from processor.extensions.streamz import factory as extension_factory
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings


class Streamz:
    def __init__(self, extension, exporter) -> None:
        self.extension = extension
        self.exporter = exporter

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.extension.port}"

    async def feed(self, batch) -> None:
        await self.exporter.consume(batch)


@pytest.fixture
async def streamz():
    host = Host(SelfTelemetry())
    config = extension_factory.config_model.model_validate({"endpoint": "127.0.0.1:0", "max_streams": 60})
    extension = extension_factory.create(create_settings("streamz", Kind.EXTENSION, telemetry=host.telemetry),
                                         config, None)
    exporter = exporter_factory.create(create_settings("streamz", Kind.EXPORTER, telemetry=host.telemetry),
                                       exporter_factory.config_model.model_validate({}), None)
    host.components.update({"extension/streamz": extension, "exporter/streamz": exporter})
    await extension.start(host)
    await exporter.start(host)
    yield Streamz(extension, exporter)
    await exporter.shutdown()
    await extension.shutdown()


@pytest.fixture
async def http():
    async with ClientSession(timeout=ClientTimeout(total=5)) as session:
        yield session
