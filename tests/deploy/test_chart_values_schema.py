"""values.schema.json forbids unknown keys: a typo fails the render with a message naming the key."""

from __future__ import annotations

import json

import helm_python
import pytest
import yaml

from tests.deploy.helpers import CHART, render_documents

BROKERS = {"kafka": {"brokers": ["kafka:9092"]}}


def _schema_objects(node: dict, path: str = ""):
    if node.get("type") == "object" and "properties" in node:
        yield path or "(top level)", node
        for key, child in node["properties"].items():
            yield from _schema_objects(child, f"{path}.{key}" if path else key)


def test_every_object_with_known_keys_forbids_unknown_ones():
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_objects = [path for path, node in _schema_objects(schema) if node.get("additionalProperties") is not False
                    and path != "sidecar.app.containers"]
    assert open_objects == []


@pytest.mark.parametrize("values, key", [
    ({**BROKERS, "replicas": 3}, "replicas"),
    ({"kafka": {"brokers": ["kafka:9092"], "topic": "x"}}, "topic"),
    ({**BROKERS, "serviceMonitor": {"enabled": True, "intervall": "30s"}}, "intervall"),
])
def test_an_unknown_key_fails_to_render_naming_it(values, key):
    with pytest.raises(helm_python.HelmValuesError) as failure:
        render_documents(values)
    message = str(failure.value)
    assert "additional properties" in message and f"'{key}'" in message and "not allowed" in message


def test_an_unknown_mode_fails_to_render():
    with pytest.raises(helm_python.HelmValuesError, match="mode"):
        render_documents({**BROKERS, "mode": "replicaset"})


def test_missing_brokers_fail_with_a_message_that_says_what_to_set():
    with pytest.raises(helm_python.HelmError, match=r"kafka\.brokers is empty: set it"):
        render_documents({})


def test_no_image_fails_with_a_message_that_says_how_to_build_and_push_it():
    with pytest.raises(helm_python.HelmError, match=r"image\.repository is empty: build the image") as failure:
        render_documents({**BROKERS, "image": {}})
    assert "docker push registry.example.com/tokenstream:0.1.0" in str(failure.value)
    assert "--set image.repository=registry.example.com/tokenstream" in str(failure.value)


def test_the_image_is_the_pushed_repository_at_the_chart_version_unless_a_tag_is_given():
    def image(values: dict) -> str:
        workload = next(d for d in render_documents({**BROKERS, "image": values}) if d["kind"] == "Deployment")
        return workload["spec"]["template"]["spec"]["containers"][0]["image"]

    assert image({"repository": "r.example/ts"}) == "r.example/ts:0.1.0"
    assert image({"repository": "r.example/ts", "tag": "dev"}) == "r.example/ts:dev"


def test_brokers_may_be_left_empty_when_the_config_drops_the_kafka_exporter():
    config = {"service": {"pipelines": {"traces": {"exporters": ["prometheus"]}}}, "exporters": {"kafka": None}}
    documents = render_documents({"config": config})
    rendered = yaml.safe_load(next(d for d in documents if d["kind"] == "ConfigMap")["data"]["config.yaml"])
    assert list(rendered["exporters"]) == ["prometheus"]


def test_sidecar_mode_without_the_gateway_containers_says_so():
    with pytest.raises(helm_python.HelmError, match="sidecar.app.containers"):
        render_documents({**BROKERS, "mode": "sidecar"})
