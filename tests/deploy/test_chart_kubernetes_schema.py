"""Every rendered manifest against Kubernetes' own schemas (kubernetes-validate, strict: no unknown fields)."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.deploy.helpers import ALL_CASES, render_documents, values_case

KUBERNETES_VERSION = "1.30.0"  # native sidecars (restartPolicy on an init container) are GA-beta from 1.29
# Prometheus Operator CRDs have no schema in kubernetes-validate; their shape is checked here instead.
OPERATOR_KINDS = {
    "ServiceMonitor": {"selector", "namespaceSelector", "endpoints"},
    "PodMonitor": {"selector", "namespaceSelector", "podMetricsEndpoints"},
    "PrometheusRule": {"groups"},
}


@ALL_CASES
def test_every_manifest_matches_the_kubernetes_schema(values_file):
    values, namespace = values_case(values_file)
    for document in render_documents(values, namespace):
        name = f"{document['kind']}/{document['metadata']['name']}"
        if document["apiVersion"] == "monitoring.coreos.com/v1":
            assert set(document["spec"]) <= OPERATOR_KINDS[document["kind"]], name
            continue
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            pytest.fail(f"{values_file.name}: {name} is not valid Kubernetes at {path}: {exc.message}")


def test_the_validator_rejects_what_kubernetes_rejects():
    """Guards the test above: an unknown field in a container must not pass."""
    values, namespace = {"kafka": {"brokers": ["k:9092"]}}, "observability"
    deployment = next(d for d in render_documents(values, namespace) if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["restartPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
