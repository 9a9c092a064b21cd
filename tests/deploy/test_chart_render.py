"""The chart rendered with Helm's Go SDK for every ci/ and example values file: the right objects, wired right."""

from __future__ import annotations

import pytest
import yaml

from tests.deploy.helpers import ALL_CASES, by_kind, render_documents, values_case

WORKLOAD_KIND = {"deployment": "Deployment", "daemonset": "DaemonSet", "statefulset": "StatefulSet",
                 "sidecar": "Deployment"}


def _tokenstream_container(pod_spec: dict) -> dict:
    containers = pod_spec["containers"] + pod_spec.get("initContainers", [])
    return next(c for c in containers if c["name"] == "tokenstream")


@ALL_CASES
def test_renders_the_workload_of_its_mode_with_config_service_account_and_probes(values_file):
    values, namespace = values_case(values_file)
    mode = values.get("mode", "deployment")
    documents = render_documents(values, namespace)
    workloads = [d for d in documents if d["kind"] in ("Deployment", "DaemonSet", "StatefulSet")]
    assert [w["kind"] for w in workloads] == [WORKLOAD_KIND[mode]]
    assert all(d["metadata"]["namespace"] == namespace for d in documents)
    pod = workloads[0]["spec"]["template"]["spec"]
    container = _tokenstream_container(pod)
    assert container["args"][:3] == ["run", "--config", "/etc/tokenstream/config.yaml"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/", "port": "health"}
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["health"] == 13133
    configmap_name = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "config")
    assert configmap_name in [c["metadata"]["name"] for c in by_kind(documents, "ConfigMap")]
    assert pod["serviceAccountName"] in [s["metadata"]["name"] for s in by_kind(documents, "ServiceAccount")]


@ALL_CASES
def test_runs_non_root_with_a_read_only_root_filesystem_and_no_capabilities(values_file):
    values, namespace = values_case(values_file)
    workload = next(d for d in render_documents(values, namespace) if d["kind"] in WORKLOAD_KIND.values())
    security = _tokenstream_container(workload["spec"]["template"]["spec"])["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]


@ALL_CASES
def test_monitors_autoscaling_budget_and_persistence_follow_the_values(values_file):
    values, namespace = values_case(values_file)
    mode = values.get("mode", "deployment")
    documents = render_documents(values, namespace)
    kinds = [d["kind"] for d in documents]

    def enabled(key: str) -> bool:
        return bool(values.get(key, {}).get("enabled"))

    assert ("ServiceMonitor" in kinds) == (enabled("serviceMonitor") and mode != "sidecar")
    assert ("PodMonitor" in kinds) == enabled("podMonitor")
    assert ("PrometheusRule" in kinds) == enabled("prometheusRule")
    assert ("HorizontalPodAutoscaler" in kinds) == (enabled("autoscaling") and mode in ("deployment", "statefulset"))
    assert ("PodDisruptionBudget" in kinds) == (enabled("podDisruptionBudget") and mode != "sidecar")
    assert ("Service" in kinds) == (mode != "sidecar")
    workload = next(d for d in documents if d["kind"] == WORKLOAD_KIND[mode])
    claims = workload["spec"].get("volumeClaimTemplates", [])
    assert bool(claims) == (enabled("persistence") and mode == "statefulset")
    if claims:
        mounts = _tokenstream_container(workload["spec"]["template"]["spec"])["volumeMounts"]
        assert claims[0]["metadata"]["name"] in [m["name"] for m in mounts]
    if "HorizontalPodAutoscaler" in kinds:
        target = by_kind(documents, "HorizontalPodAutoscaler")[0]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == (workload["kind"], workload["metadata"]["name"])
        assert "replicas" not in workload["spec"]  # the HPA owns the replica count


def test_service_exposes_otlp_metrics_and_health_ports():
    documents = render_documents({"kafka": {"brokers": ["kafka:9092"]}})
    ports = {p["name"]: p["port"] for p in by_kind(documents, "Service")[0]["spec"]["ports"]}
    assert ports == {"otlp-grpc": 4317, "otlp-http": 4318, "metrics": 9464, "health": 13133}


@pytest.mark.parametrize("native", [True, False])
def test_sidecar_sits_in_the_gateway_pod_as_native_sidecar_or_plain_container(native):
    gateway = {"name": "gateway", "image": "gw:1",
               "env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4317"}]}
    documents = render_documents({"mode": "sidecar", "kafka": {"brokers": ["kafka:9092"]},
                                  "sidecar": {"native": native, "app": {"name": "gw", "containers": [gateway]}}})
    pod = by_kind(documents, "Deployment")[0]["spec"]["template"]["spec"]
    if native:
        assert [c["name"] for c in pod["containers"]] == ["gateway"]
        assert [(c["name"], c["restartPolicy"]) for c in pod["initContainers"]] == [("tokenstream", "Always")]
    else:
        assert [c["name"] for c in pod["containers"]] == ["gateway", "tokenstream"]
        assert "initContainers" not in pod
    config = yaml.safe_load(by_kind(documents, "ConfigMap")[0]["data"]["config.yaml"])
    # Only the gateway in the same pod may send.
    protocols = config["receivers"]["otlp"]["protocols"]
    assert [p["endpoint"] for p in protocols.values()] == ["127.0.0.1:4317", "127.0.0.1:4318"]


def test_config_is_deep_merged_over_the_default_with_kafka_from_values():
    documents = render_documents({
        "kafka": {"brokers": ["a:9092", "b:9092"], "topics": {"spans": "s", "streams": "r", "anomalies": "x"}},
        "config": {"processors": {"stream": {"cadence": {"stall_gap": "3s"}, "content_check": False}},
                   "exporters": {"debug": {}}},
    })
    config = yaml.safe_load(by_kind(documents, "ConfigMap")[0]["data"]["config.yaml"])
    assert config["exporters"]["kafka"]["brokers"] == ["a:9092", "b:9092"]
    assert config["exporters"]["kafka"]["topics"] == {"spans": "s", "streams": "r", "anomalies": "x",
                                                      "trace_costs": "llm.trace.costs"}  # merged over the default
    stream = config["processors"]["stream"]
    assert stream["cadence"] == {"stall_gap": "3s"}
    assert stream["content_check"] is False  # false turns a section off, over the default's {}
    assert (stream["conventions"], stream["wait"], stream["retries"]) == (["auto"], "5s", {})  # kept
    assert "openai/gpt-4o-mini" in stream["cost"]["prices"]  # kept
    assert "debug" in config["exporters"] and "prometheus" in config["exporters"]


def test_kafka_credentials_come_from_the_secret_reference():
    documents = render_documents({"kafka": {"brokers": ["k:9093"], "auth": {"existingSecret": "creds",
                                                                           "mechanism": "SCRAM-SHA-512"}}})
    env = {e["name"]: e for e in _tokenstream_container(
        by_kind(documents, "Deployment")[0]["spec"]["template"]["spec"])["env"]}
    assert env["KAFKA_SASL_USERNAME"]["valueFrom"]["secretKeyRef"] == {"name": "creds", "key": "username"}
    assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "creds", "key": "password"}
    config = yaml.safe_load(by_kind(documents, "ConfigMap")[0]["data"]["config.yaml"])
    assert config["exporters"]["kafka"]["sasl"] == {
        "mechanism": "SCRAM-SHA-512", "username": "${env:KAFKA_SASL_USERNAME}",
        "password": "${env:KAFKA_SASL_PASSWORD}"}


def test_a_config_change_rolls_the_pods():
    def checksum(config: dict) -> str:
        workload = by_kind(render_documents({"kafka": {"brokers": ["k:9092"]}, "config": config}), "Deployment")[0]
        return workload["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum({}) != checksum({"processors": {"stream": {"cadence": {"stall_gap": "3s"}}}})


def test_dashboard_configmap_is_labelled_for_the_grafana_sidecar():
    documents = render_documents({"kafka": {"brokers": ["k:9092"]}, "dashboard": {"enabled": True}})
    dashboard = next(c for c in by_kind(documents, "ConfigMap") if "tokenstream.json" in c["data"])
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_otlp_endpoint_adds_the_otlp_exporter_and_the_stream_metrics_pipeline():
    off = yaml.safe_load(by_kind(render_documents({"kafka": {"brokers": ["k:9092"]}}), "ConfigMap")[0]["data"][
        "config.yaml"])
    assert "otlp" not in off["exporters"] and "connectors" not in off and "metrics" not in off["service"]["pipelines"]
    on = yaml.safe_load(by_kind(render_documents({"kafka": {"brokers": ["k:9092"]},
                                                  "otlp": {"endpoint": "collector:4317", "insecure": True,
                                                           "headers": {"x-scope-orgid": "team-a"}}}),
                                "ConfigMap")[0]["data"]["config.yaml"])
    assert on["exporters"]["otlp"] == {"endpoint": "collector:4317", "tls": {"insecure": True},
                                       "headers": {"x-scope-orgid": "team-a"}}
    pipelines = on["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["kafka", "prometheus", "otlp", "stream_metrics"]
    assert pipelines["metrics"] == {"receivers": ["stream_metrics"], "exporters": ["otlp"]}
    assert on["connectors"] == {"stream_metrics": {}}


def test_otlp_shares_the_persistent_queue_volume_in_statefulset_mode():
    config = yaml.safe_load(by_kind(render_documents({"mode": "statefulset", "kafka": {"brokers": ["k:9092"]},
                                                      "persistence": {"enabled": True},
                                                      "otlp": {"endpoint": "c:4317", "metrics": False}}),
                                    "ConfigMap")[0]["data"]["config.yaml"])
    assert config["exporters"]["otlp"]["sending_queue"] == {"storage": {"directory": "/var/lib/tokenstream/queue"}}
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["kafka", "prometheus", "otlp"]
    assert "metrics" not in config["service"]["pipelines"]
