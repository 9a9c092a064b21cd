"""Shared by the prometheus exporter tests: start an exporter on 127.0.0.1, feed it records, scrape it."""

from __future__ import annotations

import itertools

import aiohttp
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from processor.component import Kind
from processor.exporters.prometheus import factory
from processor.model.batch import Batch, Signal
from processor.model.records import StreamRecord
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings

_ids = itertools.count(1)


@pytest.fixture
def telemetry() -> SelfTelemetry:
    return SelfTelemetry()


@pytest.fixture
async def start_exporter(telemetry):
    """`await start_exporter(**config)` -> a started exporter on a free loopback port; stopped after the test."""
    started = []

    async def start(**config):
        config.setdefault("endpoint", "127.0.0.1:0")
        settings = create_settings("prometheus", Kind.EXPORTER, telemetry=telemetry)
        exporter = factory.create(settings, factory.config_model.model_validate(config), None)
        await exporter.start(Host(telemetry))
        started.append(exporter)
        return exporter

    yield start
    for exporter in started:
        await exporter.shutdown()


def stream(**fields) -> StreamRecord:
    """A StreamRecord with fresh ids and the given fields (only those: the rest stays unknown)."""
    n = next(_ids)
    return StreamRecord(trace_id=n.to_bytes(16, "big"), span_id=n.to_bytes(8, "big"), **fields)


def traces_batch(records, request: ExportTraceServiceRequest | None = None) -> Batch:
    return Batch(Signal.TRACES, request or ExportTraceServiceRequest(), streams=list(records))


@pytest.fixture
def make_stream():
    return stream


@pytest.fixture
def make_batch():
    return traces_batch


async def _scrape(exporter, accept: str | None = None) -> tuple[str, str]:
    headers = {"Accept": accept} if accept else {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
            session.get(f"http://127.0.0.1:{exporter.port}/metrics", headers=headers) as response:
        assert response.status == 200
        return await response.text(), response.headers["Content-Type"]


def samples_of(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus text exposition, by (sample name, frozenset of label items)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture
def scrape():
    """`text, content_type = await scrape(exporter)`: a real HTTP GET of /metrics."""
    return _scrape


@pytest.fixture
def samples():
    return samples_of
