"""Nothing listens on 0.0.0.0 unless the config says so; a sidecar's OTLP listeners bind 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from processor.exporters.prometheus.config import PrometheusConfig
from processor.extensions.health_check.config import HealthCheckConfig
from processor.receivers.otlp.config import GrpcConfig, HttpConfig

SIDECAR = Path(__file__).resolve().parents[2] / "pipelines" / "sidecar.yaml"


def _host(endpoint: str) -> str:
    return endpoint.rpartition(":")[0]


def test_health_check_binds_loopback_by_default():
    assert _host(HealthCheckConfig().endpoint) == "127.0.0.1"


@pytest.mark.parametrize("config", [GrpcConfig, HttpConfig, PrometheusConfig], ids=lambda c: c.__name__)
def test_every_listener_binds_loopback_by_default(config):
    assert _host(config().endpoint) == "127.0.0.1"


def test_the_sidecar_pipeline_takes_otlp_on_loopback_only():
    protocols = yaml.safe_load(SIDECAR.read_text())["receivers"]["otlp"]["protocols"]
    assert {_host(p["endpoint"]) for p in protocols.values()} == {"127.0.0.1"}
