"""The Dockerfile as written: its bases, user, ports and build context (tests/image builds and runs it)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from tests.deploy.helpers import ROOT, by_kind, load_documents, render_documents

DOCKERFILE = (ROOT / "Dockerfile").read_text()
DOCKERIGNORE = (ROOT / ".dockerignore").read_text()


def _instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.split(None, 1)[:1] == [name]]


def _build_args() -> dict[str, str]:
    return dict(line.strip().split("=", 1) for line in _instructions("ARG") if "=" in line)


def test_built_on_python_3_11_and_shipped_on_its_slim_image_unless_the_bases_are_given():
    assert [line.split() for line in _instructions("FROM")] == [["${BUILD_BASE}", "AS", "build"], ["${BASE}"]]
    assert _build_args()["BUILD_BASE"] == "python:3.11" and _build_args()["BASE"] == "python:3.11-slim"


def test_the_default_pipeline_writes_where_the_chart_mounts_a_writable_volume():
    env = dict(pair.split("=", 1) for line in _instructions("ENV") for pair in line.split())
    data = PurePosixPath(env["TOKENSTREAM_DATA_DIR"])
    assert "${env:TOKENSTREAM_DATA_DIR:-./data}/streams.jsonl" in (ROOT / "pipelines/default.yaml").read_text()
    pod = by_kind(render_documents({"kafka": {"brokers": ["k:9092"]}}), "Deployment")[0]["spec"]["template"]["spec"]
    scratch = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    mounts = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] in scratch and not m.get("readOnly")]
    assert any(data.is_relative_to(m["mountPath"]) for m in mounts), (data, mounts)


def test_runs_as_the_numeric_non_root_user_the_chart_expects():
    user = _instructions("USER")[-1].strip()
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    chart_values = load_documents((ROOT / "deploy/helm/tokenstream/values.yaml").read_text())[0]
    assert int(uid) == chart_values["securityContext"]["runAsUser"] == chart_values["podSecurityContext"]["runAsUser"]


def test_exposes_the_otlp_metrics_and_health_ports():
    assert {int(p) for line in _instructions("EXPOSE") for p in line.split()} == {4317, 4318, 9464, 13133}


def test_build_context_is_only_what_the_dockerfile_copies():
    patterns = [line.strip() for line in DOCKERIGNORE.splitlines() if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", ".dockerignore must exclude everything first, then allow what is copied"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = {src.rstrip("/") for line in _instructions("COPY") if not line.startswith("--from")
              for src in line.split()[:-1] if not src.startswith("--")}
    assert allowed == copied
    for source in copied:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which does not exist"
