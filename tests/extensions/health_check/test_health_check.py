from __future__ import annotations

import aiohttp
import pytest
from pydantic import ValidationError

from processor.component import Kind
from processor.extensions.health_check import factory
from processor.extensions.health_check.config import HealthCheckConfig
from processor.service.host import Host, Status
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings

TIMEOUT = aiohttp.ClientTimeout(total=5)


async def get(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.get(url) as response:
        return response.status, await response.json()


async def test_status_follows_the_service_lifecycle():
    host = Host(SelfTelemetry())
    health = factory.create(create_settings("health_check", Kind.EXTENSION),
                            HealthCheckConfig(endpoint="127.0.0.1:0"), None)
    await health.start(host)
    try:
        url = f"http://127.0.0.1:{health.port}/"
        assert host.status is Status.STARTING
        status, body = await get(url)
        assert status == 503 and body["state"] == "starting"
        host.status = Status.RUNNING
        status, body = await get(url)
        assert status == 200 and body["status"] == "Server available"
        assert body["upSince"].endswith("Z") and body["uptime"].endswith("s")
        host.status = Status.DRAINING
        status, body = await get(url)
        assert status == 503 and body["status"] == "Server not available"
    finally:
        await health.shutdown()
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(url)


async def test_custom_path():
    host = Host(SelfTelemetry(), status=Status.RUNNING)
    health = factory.create(create_settings("health_check", Kind.EXTENSION),
                            HealthCheckConfig(endpoint="127.0.0.1:0", path="/healthz"), None)
    await health.start(host)
    try:
        assert (await get(f"http://127.0.0.1:{health.port}/healthz"))[0] == 200
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, \
                session.get(f"http://127.0.0.1:{health.port}/") as response:
            assert response.status == 404
    finally:
        await health.shutdown()


def test_defaults_listen_on_localhost_only():
    assert HealthCheckConfig().endpoint == "127.0.0.1:13133"
    assert HealthCheckConfig().path == "/"


def test_path_must_be_absolute():
    with pytest.raises(ValidationError, match='"healthz" is not an absolute URL path'):
        HealthCheckConfig(path="healthz")
