"""TLS and mTLS to the backend (tokenstream's own otlp receiver with test PKI), and OTLP/JSON over HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest

from processor.component import Kind
from processor.errors import RetryableError
from processor.exporters.otlp.body import request_bytes
from processor.model import otlp_json
from processor.model.batch import Signal
from processor.receivers.otlp import factory
from processor.receivers.otlp.config import OtlpReceiverConfig
from processor.service.fanout import SignalRouter
from processor.service.host import Host
from processor.testing import SinkConsumer, create_settings
from tests.exporters.kafka.conftest import make_batch, make_request, span_keys
from tests.support.pki import pki  # noqa: F401 - the session fixture

pytestmark = pytest.mark.usefixtures("pki")


@pytest.fixture
async def mtls_receiver(pki):  # noqa: F811 - the fixture above
    tls = {"cert_file": str(pki.server_cert), "key_file": str(pki.server_key), "client_ca_file": str(pki.ca)}
    config = OtlpReceiverConfig.model_validate({"protocols": {"grpc": {"endpoint": "127.0.0.1:0", "tls": tls},
                                                              "http": {"endpoint": "127.0.0.1:0", "tls": tls}}})
    sink = SinkConsumer()
    settings = create_settings("otlp", Kind.RECEIVER)
    receiver = factory.create(settings, config, SignalRouter({Signal.TRACES: sink}))
    await receiver.start(Host(settings.telemetry))
    yield receiver, sink
    await receiver.shutdown()


async def test_mtls_with_the_backends_ca_and_a_client_certificate(harness, mtls_receiver, pki, transport):  # noqa: F811
    receiver, sink = mtls_receiver
    port = receiver.grpc_port if transport == "grpc" else receiver.http_port
    endpoint = f"localhost:{port}" if transport == "grpc" else f"https://localhost:{port}"
    exporter = await harness.start(transport, endpoint=endpoint,
                                   tls={"ca_file": str(pki.ca), "cert_file": str(pki.client_cert),
                                        "key_file": str(pki.client_key)})
    batch = make_batch(make_request(traces=2, spans_per_trace=2))
    await asyncio.wait_for(exporter.consume(batch), 15)
    await sink.wait_for_items(4)
    assert span_keys(sink.batches[0].request) == span_keys(batch.request)


async def test_without_a_client_certificate_the_backend_refuses(harness, mtls_receiver, pki, transport):  # noqa: F811
    receiver, _ = mtls_receiver
    port = receiver.grpc_port if transport == "grpc" else receiver.http_port
    endpoint = f"localhost:{port}" if transport == "grpc" else f"https://localhost:{port}"
    exporter = await harness.start(transport, endpoint=endpoint, tls={"ca_file": str(pki.ca)},
                                   retry_on_failure={"initial_interval": "50ms", "max_elapsed_time": "500ms"})
    with pytest.raises(RetryableError):
        await asyncio.wait_for(exporter.consume(make_batch(make_request(traces=1, spans_per_trace=1))), 15)


async def test_otlphttp_json_encoding(harness, backend):
    exporter = await harness.start("http", encoding="json")
    batch = make_batch(make_request(traces=2, spans_per_trace=2))
    await asyncio.wait_for(exporter.consume(batch), 10)
    (received,) = backend.received
    assert received.headers["Content-Type"] == "application/json"
    json.loads(received.body)  # OTLP/JSON: hex ids, camelCase
    assert otlp_json.decode(Signal.TRACES, received.body).SerializeToString() == request_bytes(batch)
