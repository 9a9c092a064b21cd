"""Every registered component, created with its default config, through start -> shutdown; and shutdown alone.

Components are found through the registry, so a new one is tested here without editing this file,
unless its config has required settings: then this test fails and says to add them to MINIMAL_CONFIGS.
Every endpoint a component listens on is moved to a free port on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from processor.component import Factory, Kind
from processor.config.models import ComponentConfig
from processor.service.fanout import SignalRouter
from processor.service.host import Host, Status
from processor.service.registry import factories
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer, create_settings

#: "kind/type" -> the smallest config that validates, for components whose config has required settings.
MINIMAL_CONFIGS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "processor/memory_limiter": lambda tmp: {"limit_mib": 512},
    "exporter/file": lambda tmp: {"path": str(tmp / "out.jsonl")},
    # Nothing listens there: start connects lazily, and shutdown gives up on what it could not send.
    "exporter/otlp": lambda tmp: {"endpoint": "127.0.0.1:9", "tls": {"insecure": True}},
    "exporter/otlphttp": lambda tmp: {"endpoint": "http://127.0.0.1:9"},
}

#: "kind/type" -> the components it looks up in the host at start (created with their default config, not started).
HOST_NEEDS: dict[str, list[str]] = {
    "exporter/streamz": ["extension/streamz"],
}

TIMEOUT = 30


def _key(factory: Factory) -> str:
    return f"{factory.kind.value}/{factory.type}"


ALL = [pytest.param(f, id=_key(f)) for by_type in factories().values() for f in by_type.values()]


def _config(factory: Factory, tmp_path: Path) -> ComponentConfig:
    raw = MINIMAL_CONFIGS.get(_key(factory), lambda _: {})(tmp_path)
    try:
        config = factory.config_model.model_validate(raw)
    except ValidationError as exc:
        pytest.fail(f"{_key(factory)} does not validate with {raw}; add the smallest valid config for it to "
                    f"MINIMAL_CONFIGS in tests/test_lifecycle.py\n{exc}")
    for path in config.endpoints():
        _set(raw, path.split("::"), "127.0.0.1:0")
    return factory.config_model.model_validate(raw)


def _set(document: dict, keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        document = document.setdefault(key, {})
    document[keys[-1]] = value


def _create(factory: Factory, tmp_path: Path, host: Host):
    settings = create_settings(_key(factory).split("/", 1)[1], factory.kind, signals=factory.signals,
                               telemetry=host.telemetry)
    if factory.kind is Kind.RECEIVER:
        next_consumer = SignalRouter({signal: SinkConsumer() for signal in factory.signals})
    elif factory.kind is Kind.CONNECTOR:
        next_consumer = SignalRouter({signal: SinkConsumer() for signal in factory.emits})
    elif factory.kind is Kind.PROCESSOR:
        next_consumer = SinkConsumer()
    else:
        next_consumer = None
    return factory.create(settings, _config(factory, tmp_path), next_consumer)


def test_every_kind_is_represented():
    assert {f.values[0].kind for f in ALL} >= {Kind.PROCESSOR, Kind.EXPORTER, Kind.EXTENSION, Kind.CONNECTOR}


def test_minimal_configs_name_registered_components():
    assert set(MINIMAL_CONFIGS) <= {_key(f.values[0]) for f in ALL}


@pytest.mark.parametrize("factory", ALL)
async def test_start_then_shutdown(factory: Factory, tmp_path: Path):
    host = Host(SelfTelemetry())
    for needed in HOST_NEEDS.get(_key(factory), []):
        kind, type_ = needed.split("/", 1)
        host.components[needed] = _create(factories()[Kind(kind)][type_], tmp_path, host)
    component = _create(factory, tmp_path, host)
    async with asyncio.timeout(TIMEOUT):
        await component.start(host)
        host.status = Status.RUNNING
        host.status = Status.DRAINING
        await component.shutdown()


@pytest.mark.parametrize("factory", ALL)
async def test_shutdown_without_start(factory: Factory, tmp_path: Path):
    host = Host(SelfTelemetry())
    component = _create(factory, tmp_path, host)
    async with asyncio.timeout(TIMEOUT):
        await component.shutdown()
