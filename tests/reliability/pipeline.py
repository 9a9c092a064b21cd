"""The default pipeline (pipelines/default.yaml), rewired for a test: loopback ports, a given broker, unique topics,
files in the test's directory. The processing (every processor, in order) is left as shipped."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from processor.testing.process import TokenstreamProcess, free_port

DEFAULT_PIPELINE = Path(__file__).resolve().parents[2] / "pipelines" / "default.yaml"
#: The default pipeline's outputs that write somewhere a test can read back (streamz and debug only show).
KEPT_EXPORTERS = ("kafka", "prometheus", "file/streams", "file/anomalies", "file/logs")


@dataclass
class Ports:
    grpc: int = field(default_factory=free_port)
    http: int = field(default_factory=free_port)
    health: int = field(default_factory=free_port)
    metrics: int = field(default_factory=free_port)
    prometheus: int = field(default_factory=free_port)


@dataclass
class Topics:
    spans: str
    streams: str
    anomalies: str
    trace_costs: str

    @classmethod
    def unique(cls) -> Topics:
        tag = uuid.uuid4().hex[:8]
        return cls(*(f"rel.{tag}.{name}" for name in ("spans", "streams", "anomalies", "trace_costs")))

    def all(self) -> list[str]:
        return [self.spans, self.streams, self.anomalies, self.trace_costs]


def default_pipeline(workdir: Path, ports: Ports, bootstrap: str, topics: Topics, *, limit_mib: int = 512,
                     kafka: dict[str, Any] | None = None, processors: dict[str, Any] | None = None,
                     grpc: dict[str, Any] | None = None, http: dict[str, Any] | None = None,
                     receiver: dict[str, Any] | None = None) -> dict:
    """`kafka` and `processors` are merged into the kafka exporter's and the processors' settings; `grpc` and `http`
    into the otlp receiver's protocols, `receiver` into its other settings."""
    config = copy.deepcopy(yaml.safe_load(DEFAULT_PIPELINE.read_text()))
    config["receivers"]["otlp"] = {**(receiver or {}), "protocols": {
        "grpc": {"endpoint": f"127.0.0.1:{ports.grpc}", **(grpc or {})},
        "http": {"endpoint": f"127.0.0.1:{ports.http}", **(http or {})}}}
    config["processors"]["memory_limiter"] = {"limit_mib": limit_mib}
    for name, settings in (processors or {}).items():
        config["processors"][name] = {**(config["processors"].get(name) or {}), **settings}
    exporters = {name: config["exporters"][name] for name in KEPT_EXPORTERS}
    exporters["kafka"] = {**exporters["kafka"], "brokers": [bootstrap], "topics": vars(topics), **(kafka or {})}
    exporters["prometheus"] = {**exporters["prometheus"], "endpoint": f"127.0.0.1:{ports.prometheus}"}
    for name in ("file/streams", "file/anomalies", "file/logs"):
        exporters[name] = {**exporters[name], "path": str(workdir / f"{name.split('/')[1]}.jsonl")}
    config["exporters"] = exporters
    config["extensions"] = {"health_check": {"endpoint": f"127.0.0.1:{ports.health}"}}
    service = config["service"]
    service["extensions"] = ["health_check"]
    service["telemetry"] = {"metrics": {"address": f"127.0.0.1:{ports.metrics}"}}
    for pipeline in service["pipelines"].values():
        pipeline["exporters"] = [e for e in pipeline["exporters"] if e in KEPT_EXPORTERS]
    return config


def start_tokenstream(workdir: Path, config: dict, ports: Ports, *, name: str = "tokenstream",
                      open_files: tuple[int, int] | None = None) -> TokenstreamProcess:
    directory = workdir / name
    directory.mkdir(parents=True, exist_ok=True)
    return TokenstreamProcess(config, directory, health_port=ports.health, open_files=open_files).start(timeout=40.0)
