"""The prometheus exporter's config: defaults, and mistakes reported in words a user can act on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from processor.component import Kind
from processor.exporters.prometheus.config import PrometheusConfig
from processor.service import registry


def test_defaults_follow_the_design():
    config = PrometheusConfig()
    assert config.endpoint == "127.0.0.1:9464"
    assert config.namespace is None and config.const_labels == {}
    assert config.cardinality_limit == 1000
    assert config.metric_expiration == 300.0
    assert config.endpoints() == {"endpoint": "127.0.0.1:9464"}  # claimed, so a port clash fails validation


def test_the_registry_finds_the_prometheus_exporter():
    factory = registry.get(Kind.EXPORTER, "prometheus")
    assert factory is not None and factory.config_model is PrometheusConfig


def test_durations_parse():
    config = PrometheusConfig.model_validate({"metric_expiration": "5m", "namespace": "llm"})
    assert config.metric_expiration == 300.0


@pytest.mark.parametrize(("body", "message"), [
    ({"namespace": "9lives"}, "is not a metric name prefix"),
    ({"const_labels": {"route": "x"}}, "is a label the exporter sets itself"),
    ({"const_labels": {"bad-name": "x"}}, "is not a label name"),
    ({"metric_expiration": "0s"}, "must be more than 0"),
    ({"metric_expiration": "soon"}, "is not a duration"),
    ({"cardinality_limit": 0}, "greater than or equal to 1"),
    ({"labels": {"route": ["http.route"]}}, "processors::stream::route_keys and tenant_keys"),
    ({"endpoint": "localhost"}, "is not an endpoint"),
])
def test_mistakes_are_reported(body, message):
    with pytest.raises(ValidationError, match=message):
        PrometheusConfig.model_validate(body)
