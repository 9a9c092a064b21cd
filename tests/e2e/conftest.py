from __future__ import annotations

import pytest

from processor.testing.process import TokenstreamProcess, free_port


class Ports:
    def __init__(self) -> None:
        self.grpc, self.http, self.health, self.metrics = (free_port() for _ in range(4))


def file_pipeline(tmp_path, ports: Ports, *, batch_timeout: str = "50ms") -> dict:
    """otlp -> batch -> file, for traces and logs, on loopback ports."""
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{ports.grpc}"},
                                             "http": {"endpoint": f"127.0.0.1:{ports.http}"}}}},
        "processors": {"batch": {"timeout": batch_timeout}},
        "exporters": {"file/spans": {"path": str(tmp_path / "spans.jsonl")},
                      "file/logs": {"path": str(tmp_path / "logs.jsonl")}},
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{ports.health}"}},
        "service": {
            "extensions": ["health_check"],
            "shutdown_timeout": "10s",
            "telemetry": {"metrics": {"address": f"127.0.0.1:{ports.metrics}"}},
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["file/spans"]},
                          "logs": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["file/logs"]}},
        },
    }


@pytest.fixture
def ports() -> Ports:
    return Ports()


@pytest.fixture
def tokenstream(tmp_path, ports):
    """A running `tokenstream run` on the file pipeline; the test may stop it itself."""
    process = TokenstreamProcess(file_pipeline(tmp_path, ports), tmp_path, health_port=ports.health).start()
    yield process
    process.kill()
