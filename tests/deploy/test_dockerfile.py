"""The container image: slim base, non-root numeric user, only what runs (no daemon is needed to check this)."""

from __future__ import annotations

import re

from tests.deploy.helpers import ROOT, load_documents

DOCKERFILE = (ROOT / "Dockerfile").read_text()
DOCKERIGNORE = (ROOT / ".dockerignore").read_text()


def _instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.split(None, 1)[:1] == [name]]


def test_every_stage_uses_a_slim_python_base():
    bases = [line.split()[0] for line in _instructions("FROM")]
    assert bases and all(re.fullmatch(r"python:3\.11-slim", base) for base in bases)


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
