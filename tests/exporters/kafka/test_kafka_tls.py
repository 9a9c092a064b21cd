"""The kafka exporter over TLS: with a client certificate it delivers to a broker that takes only mTLS, and a
certificate it cannot trust stops the start with the key to fix.

The broker is the embedded one behind a TLS-terminating proxy (tests.support.kafka_proxy.TlsKafka), so these
tests need the embedded broker, not KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.kafka.client import KafkaAuthError, KafkaTlsConfig
from tests.exporters.kafka.conftest import make_batch, make_request, span_keys
from tests.support.kafka_proxy import TlsKafka
from tests.support.pki import Pki, make_pki

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def mtls_kafka(pki) -> Iterator[TlsKafka]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("TLS tests put a TLS proxy in front of the embedded broker, not KAFKA_BOOTSTRAP_SERVERS")
    kafka = TlsKafka(pki.server_cert, pki.server_key, client_ca=pki.ca).open()
    try:
        yield kafka
    finally:
        kafka.close()


async def _spans_on(bootstrap: str, topic: str, tls: KafkaTlsConfig, expected: int) -> set:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, security_protocol="SSL",
                                ssl_context=tls.ssl_context(), auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    keys: set = set()
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(keys) < expected and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                for record in batch:
                    keys |= span_keys(ExportTraceServiceRequest.FromString(record.value))
    finally:
        await consumer.stop()
    return keys


async def test_spans_reach_a_broker_that_takes_only_mtls(harness, mtls_kafka, pki, kafka_topic):
    tls = {"ca_file": str(pki.ca), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}
    topic = kafka_topic("spans")
    exporter = await harness.start({"brokers": [mtls_kafka.bootstrap], "tls": tls,
                                    "topics": {"spans": topic, "streams": None, "anomalies": None}})
    request = make_request(traces=3, spans_per_trace=2)
    await exporter.consume(make_batch(request))
    assert await _spans_on(mtls_kafka.bootstrap, topic, KafkaTlsConfig(**tls), 6) == span_keys(request)


async def test_a_broker_certificate_from_another_ca_stops_the_start_with_the_key_to_fix(harness, mtls_kafka, pki,
                                                                                        tmp_path):
    stranger = make_pki(tmp_path)
    tls = {"ca_file": str(stranger.ca), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}
    with pytest.raises(KafkaAuthError) as refused:
        await harness.start({"brokers": [mtls_kafka.bootstrap], "tls": tls})
    message = str(refused.value)
    assert message.startswith(f"exporters::kafka::tls: the certificate of the broker at {mtls_kafka.bootstrap} "
                              "is not trusted (")
    assert message.endswith("check ca_file")
