"""The kafka exporter's config: what it accepts, what it refuses, and the client settings it makes."""

from __future__ import annotations

import ssl

import pytest
from aiokafka import codec
from pydantic import ValidationError

from processor.exporters.kafka import KafkaExporterConfig


def test_defaults_follow_the_design():
    config = KafkaExporterConfig()
    assert config.uses_embedded()
    assert (config.topics.spans, config.topics.streams, config.topics.anomalies) == \
        ("llm.spans", "llm.streams", "llm.stream.anomalies")
    assert (config.encoding.spans, config.encoding.records) == ("otlp_proto", "proto")
    assert config.acks == "all" and config.partition_by_trace_id and config.max_message_bytes == 1 << 20
    assert config.sending_queue.when_full == "block" and config.sending_queue.storage is None


@pytest.mark.parametrize(("brokers", "expected"), [
    ([""], []), (None, []), (["embedded"], ["embedded"]), ("a:9092,b:9093", ["a:9092", "b:9093"]),
    (["kafka-1:9092"], ["kafka-1:9092"])])
def test_brokers(brokers, expected):
    config = KafkaExporterConfig(brokers=brokers)
    assert config.brokers == expected
    assert config.uses_embedded() == (expected in ([], ["embedded"]))


@pytest.mark.parametrize("body", [
    {"brokers": ["kafka"]}, {"brokers": ["embedded", "a:9092"]}, {"acks": 2}, {"compression": "brotli"},
    {"encoding": {"spans": "otlp_avro"}}, {"sending_queue": {"when_full": "drop_oldest"}},
    {"sending_queue": {"queue_size": 0}}, {"linger": "5x"}, {"max_message_bytes": "1GiBs"}, {"topic": {}},
    {"sasl": {"mechanism": "GSSAPI", "username": "u", "password": "p"}}])
def test_refused(body):
    with pytest.raises(ValidationError):
        KafkaExporterConfig.model_validate(body)


@pytest.mark.skipif(codec.has_zstd(), reason="cramjam is installed: zstd is available")
def test_compression_without_its_library_names_the_package():
    with pytest.raises(ValidationError, match="cramjam"):
        KafkaExporterConfig.model_validate({"compression": "zstd"})


def test_acks_and_sizes_accept_the_usual_spellings():
    config = KafkaExporterConfig.model_validate({"acks": "1", "max_message_bytes": "512KiB", "linger": "20ms"})
    assert config.acks == 1 and config.max_message_bytes == 512 * 1024 and config.linger == pytest.approx(0.02)
    assert KafkaExporterConfig.model_validate({"acks": -1}).acks == "all"


def test_sasl_over_tls_client_settings():
    config = KafkaExporterConfig.model_validate({
        "brokers": ["k:9093"], "tls": {"insecure_skip_verify": True},
        "sasl": {"mechanism": "SCRAM-SHA-512", "username": "svc", "password": "s3cret"}})
    kwargs = config.client_kwargs(["k:9093"])
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert (kwargs["sasl_mechanism"], kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == \
        ("SCRAM-SHA-512", "svc", "s3cret")
    assert kwargs["ssl_context"].verify_mode == ssl.CERT_NONE
    assert "s3cret" not in repr(config)


def test_plain_sasl_without_tls_and_tls_alone():
    sasl = KafkaExporterConfig.model_validate({"sasl": {"username": "u", "password": "p"}}).client_kwargs(["a:1"])
    assert (sasl["security_protocol"], sasl["sasl_mechanism"]) == ("SASL_PLAINTEXT", "PLAIN")
    tls = KafkaExporterConfig.model_validate({"tls": {}}).client_kwargs(["a:1"])
    assert tls["security_protocol"] == "SSL" and tls["ssl_context"].verify_mode == ssl.CERT_REQUIRED
