"""The otlp receiver's config: protocol defaults as in the Collector, sizes, TLS and auth shapes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from processor.receivers.otlp.config import OtlpReceiverConfig


def test_no_protocols_key_enables_both_on_the_standard_ports():
    config = OtlpReceiverConfig.model_validate({})
    assert config.protocols.grpc.endpoint == "127.0.0.1:4317"
    assert config.protocols.http.endpoint == "127.0.0.1:4318"
    assert config.protocols.http.max_request_size == config.protocols.grpc.max_recv_msg_size == 64 << 20


def test_null_protocol_means_enabled_with_defaults_and_omitted_means_off():
    config = OtlpReceiverConfig.model_validate({"protocols": {"grpc": None}})
    assert config.protocols.grpc.endpoint == "127.0.0.1:4317" and config.protocols.http is None
    config = OtlpReceiverConfig.model_validate({"protocols": {"http": {}}})
    assert config.protocols.grpc is None and config.protocols.http.endpoint == "127.0.0.1:4318"


def test_sizes_and_endpoints_are_parsed():
    config = OtlpReceiverConfig.model_validate({"protocols": {
        "grpc": {"endpoint": "127.0.0.1:14317", "max_recv_msg_size": "4MiB"},
        "http": {"endpoint": ":14318", "max_request_size": "512KB"}}})
    assert config.protocols.grpc.max_recv_msg_size == 4 << 20
    assert config.protocols.http.max_request_size == 512_000
    assert config.endpoints() == {"protocols::grpc::endpoint": "127.0.0.1:14317",
                                  "protocols::http::endpoint": "0.0.0.0:14318"}


def test_read_timeouts_default_to_30s_and_are_parsed():
    config = OtlpReceiverConfig.model_validate({"protocols": {"grpc": {"read_timeout": "1.5s"}, "http": {}}})
    assert (config.protocols.grpc.read_timeout, config.protocols.http.read_timeout) == (1.5, 30.0)


def test_connection_limits_default_as_documented_and_are_parsed():
    config = OtlpReceiverConfig.model_validate({"protocols": {"grpc": {"max_connections": 10, "keepalive": {
        "server_parameters": {"max_connection_age": "10m", "max_connection_age_grace": "30s"}}}, "http": {}}})
    grpc_, http = config.protocols.grpc, config.protocols.http
    assert (grpc_.max_connections, http.max_connections, http.idle_timeout) == (10, 4096, 60.0)
    parameters = grpc_.keepalive.server_parameters
    assert (parameters.max_connection_idle, parameters.max_connection_age, parameters.max_connection_age_grace,
            parameters.time, parameters.timeout) == (60.0, 600.0, 30.0, 7200.0, 20.0)


def test_max_request_items_defaults_to_250000_and_must_be_positive():
    assert OtlpReceiverConfig.model_validate({}).max_request_items == 250_000
    with pytest.raises(ValidationError, match="max_request_items"):
        OtlpReceiverConfig.model_validate({"max_request_items": 0})


@pytest.mark.parametrize(("protocols", "message"), [
    ({}, "at least one protocol"),
    ({"grpc": {"port": 1}}, "port"),
    ({"websocket": {}}, "websocket"),
    ({"http": {"max_request_size": "lots"}}, "not a size"),
    ({"grpc": {"auth": {"bearer_token": "a", "bearer_token_file": "/t"}}}, "exactly one"),
    ({"grpc": {"auth": {}}}, "exactly one"),
    ({"http": {"tls": {"cert_file": "/c.pem"}}}, "key_file"),
    ({"http": {"read_timeout": "soon"}}, "not a duration"),
    ({"grpc": {"read_timeout": 0}}, "greater than 0"),
    ({"http": {"idle_timeout": "never"}}, "not a duration"),
    ({"http": {"max_connections": 0}}, "greater than or equal to 1"),
    ({"grpc": {"keepalive": {"server_parameters": {"max_connection_idle": 0}}}}, "greater than 0"),
    ({"grpc": {"keepalive": {"server_parameters": {"max_idle": "1s"}}}}, "max_idle"),
])
def test_bad_config_is_reported(protocols, message):
    with pytest.raises(ValidationError, match=message):
        OtlpReceiverConfig.model_validate({"protocols": protocols})
