"""A wrong SASL password against a broker that requires SASL: `tokenstream run` stops at start with an error that
names the key to fix and never shows the password.

The broker is the embedded Tansu with `--authentication`, which knows no user and so refuses every credential,
or a SASL-enabled broker given in KAFKA_SASL_BOOTSTRAP_SERVERS (where these credentials must be wrong).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from processor.testing.process import free_port
from tests.support.kafka import external_or_embedded

pytestmark = pytest.mark.kafka

PASSWORD = "not-the-password-9f3a"


@pytest.fixture(scope="module")
def sasl_broker() -> Iterator[str]:
    yield from external_or_embedded("KAFKA_SASL_BOOTSTRAP_SERVERS", authentication=True)


def _run(tmp_path, kind: str, component: dict) -> subprocess.CompletedProcess:
    """`tokenstream run` on a pipeline whose kafka `kind` (receivers or exporters) logs in with PASSWORD."""
    otlp = {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{free_port()}"}}}
    receivers = {"otlp": otlp} if kind == "exporters" else {"kafka": component}
    exporters = {"kafka": component} if kind == "exporters" else {"debug": {}}
    config = {
        "receivers": receivers, "exporters": exporters,
        "service": {"telemetry": {"metrics": {"address": f"127.0.0.1:{free_port()}"}},
                    "pipelines": {"traces": {"receivers": list(receivers), "exporters": list(exporters)}}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run([sys.executable, "-m", "processor", "run", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("kind", ["exporters", "receivers"])
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_a_refused_password_stops_the_start_with_the_key_to_fix(tmp_path, sasl_broker, kind, mechanism):
    sasl = {"mechanism": mechanism, "username": "tokenstream", "password": PASSWORD}
    component = {"brokers": [sasl_broker], "sasl": sasl}
    if kind == "receivers":
        component["topic"] = "sasl.refused"
    result = _run(tmp_path, kind, component)
    assert result.returncode == 1, result.stderr[-2000:]
    assert (f"could not start: {kind}::kafka::sasl: the broker refused the SASL {mechanism} credentials of user "
            f"'tokenstream'") in result.stderr, result.stderr[-2000:]
    assert "check its username, password and mechanism" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
