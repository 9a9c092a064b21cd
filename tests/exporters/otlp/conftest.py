"""otlp and otlphttp exporters built from a config dict, against the scripted backend on 127.0.0.1."""

from __future__ import annotations

import pytest

from processor.component import Kind
from processor.exporters.otlp import OtlpExporterConfig
from processor.exporters.otlp.exporter import OtlpExporter
from processor.exporters.otlp.grpc_transport import GrpcTransport
from processor.exporters.otlphttp import OtlpHttpExporterConfig
from processor.exporters.otlphttp.transport import HttpTransport
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings
from tests.support.otlp_backend import ScriptedBackend

FAST_RETRY = {"initial_interval": "50ms", "max_interval": "200ms", "max_elapsed_time": "60s"}


class Harness:
    def __init__(self, backend: ScriptedBackend) -> None:
        self.backend = backend
        self.telemetry = SelfTelemetry()
        self.started: list[OtlpExporter] = []

    async def start(self, transport: str, **config) -> OtlpExporter:
        """An `otlp` (transport grpc) or `otlphttp` (http) exporter to the backend; `config` overrides."""
        id_ = config.pop("id", "otlp" if transport == "grpc" else "otlphttp")
        endpoint = self.backend.endpoint if transport == "grpc" else self.backend.http_endpoint
        body = {"endpoint": endpoint, "tls": {"insecure": True}, "retry_on_failure": FAST_RETRY, **config}
        settings = create_settings(id_, Kind.EXPORTER, telemetry=self.telemetry)
        if transport == "grpc":
            parsed = OtlpExporterConfig.model_validate(body)
            exporter = OtlpExporter(settings, parsed, GrpcTransport(parsed))
        else:
            parsed = OtlpHttpExporterConfig.model_validate(body)
            exporter = OtlpExporter(settings, parsed, HttpTransport(parsed))
        await exporter.start(Host(self.telemetry))
        self.started.append(exporter)
        return exporter

    async def stop(self, exporter: OtlpExporter) -> None:
        self.started.remove(exporter)
        await exporter.shutdown()

    def value(self, name: str, **labels: str) -> float:
        return self.telemetry.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def backend():
    server = await ScriptedBackend().start()
    yield server
    await server.stop()


@pytest.fixture
async def harness(backend):
    h = Harness(backend)
    yield h
    for exporter in list(h.started):
        await exporter.shutdown()


@pytest.fixture(params=["grpc", "http"])
def transport(request) -> str:
    return request.param
