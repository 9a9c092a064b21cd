"""The servers under test, each in its own process on free loopback ports.

- `ceiling-decode`, `ceiling-walk`: bench/ceiling_server.py;
- `file`: otlp -> batch -> file;
- `default`: pipelines/default.yaml as shipped (every processor, batch, kafka to a real broker, prometheus), with
  loopback ports, the bench's topics, and without the file, streamz and debug outputs, which are for a first look
  and not part of the processing the issue measures (the issue's target 3 is "-> kafka + prometheus");
- `default-x2`: the same with `--workers 2`;
- `default-otlp`: the same processing with the otlp exporter (gRPC, uncompressed like the kafka exporter's default)
  in place of kafka, into a bare TraceService in its own process (ceiling_server.py --mode decode) as the backend.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import yaml

from processor.testing.process import TokenstreamProcess, free_port

DEFAULT_PIPELINE = Path(__file__).parent.parent / "pipelines" / "default.yaml"
TOPICS = ("spans", "streams", "anomalies", "trace_costs")
#: Outputs of the default pipeline the bench leaves out (see the module docstring).
_DROPPED_EXPORTERS = ("file/streams", "file/anomalies", "file/logs", "streamz", "debug")


def default_config(port: int, health: int, telemetry: int, prometheus: int, brokers: str, topics: dict,
                   overrides: dict[str, str] | None = None) -> dict:
    config = yaml.safe_load(DEFAULT_PIPELINE.read_text())
    for path, value in (overrides or {}).items():  # `--set processors.batch.timeout=50ms`, as tokenstream's --set
        *parents, leaf = path.split(".")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = yaml.safe_load(value)
    config["receivers"]["otlp"]["protocols"] = {"grpc": {"endpoint": f"127.0.0.1:{port}"}}
    exporters = config["exporters"]
    for name in _DROPPED_EXPORTERS:
        exporters.pop(name, None)
    exporters["kafka"]["brokers"] = [brokers]
    exporters["kafka"]["topics"] = topics
    exporters["prometheus"]["endpoint"] = f"127.0.0.1:{prometheus}"
    config["extensions"] = {"health_check": {"endpoint": f"127.0.0.1:{health}"}}
    service = config["service"]
    service["extensions"] = ["health_check"]
    service["telemetry"] = {"metrics": {"address": f"127.0.0.1:{telemetry}"}}
    for pipeline in service["pipelines"].values():
        pipeline["exporters"] = [e for e in pipeline["exporters"] if e not in _DROPPED_EXPORTERS]
    return config


def otlp_config(config: dict, backend: int) -> dict:
    """The default pipeline's processing with the otlp exporter in the kafka exporter's place."""
    config["exporters"].pop("kafka")
    config["exporters"]["otlp"] = {"endpoint": f"127.0.0.1:{backend}", "tls": {"insecure": True},
                                   "compression": "none"}
    for pipeline in config["service"]["pipelines"].values():
        pipeline["exporters"] = ["otlp" if e == "kafka" else e for e in pipeline["exporters"]]
    return config


def file_config(port: int, health: int, telemetry: int, workdir: Path) -> dict:
    return {"receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{port}"}}}},
            "processors": {"batch": {}}, "exporters": {"file": {"path": str(workdir / "spans.jsonl")}},
            "extensions": {"health_check": {"endpoint": f"127.0.0.1:{health}"}},
            "service": {"extensions": ["health_check"],
                        "telemetry": {"metrics": {"address": f"127.0.0.1:{telemetry}"}},
                        "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"],
                                                 "exporters": ["file"]}}}}


class Target:
    """A server under test; `topics` are the Kafka topics it writes to (None when it writes none)."""

    def __init__(self, name: str, workdir: Path, *, brokers: str | None = None, run_id: str = "0",
                 overrides: dict[str, str] | None = None, env: dict[str, str] | None = None) -> None:
        self.overrides = overrides
        self.env = env
        self.name = name
        self.port = free_port()
        self.telemetry_port = free_port()
        self.workdir = workdir
        kafka = name in ("default", "default-x2")
        self.topics = {kind: f"bench.{run_id}.{kind}" for kind in TOPICS} if kafka else None
        self.backend: subprocess.Popen | None = None
        self.brokers = brokers
        self.proc: subprocess.Popen | None = None
        self._tokenstream: TokenstreamProcess | None = None

    @property
    def workers(self) -> int | None:
        return 2 if self.name == "default-x2" else None

    def __enter__(self) -> Target:
        if self.name.startswith("ceiling-"):
            mode = self.name.removeprefix("ceiling-")
            self.proc = subprocess.Popen([sys.executable, "-m", "bench.ceiling_server", "--port", str(self.port),
                                          "--mode", mode])
            _wait_for_grpc(self.port)
            return self
        health = free_port()
        if self.name == "file":
            config = file_config(self.port, health, self.telemetry_port, self.workdir)
        elif self.name in ("default", "default-x2"):
            config = default_config(self.port, health, self.telemetry_port, free_port(), self.brokers, self.topics,
                                    self.overrides)
        elif self.name == "default-otlp":
            backend = free_port()
            self.backend = subprocess.Popen([sys.executable, "-m", "bench.ceiling_server", "--port", str(backend),
                                             "--mode", "decode"])
            _wait_for_grpc(backend)
            config = otlp_config(default_config(self.port, health, self.telemetry_port, free_port(), "unused",
                                                {kind: "unused" for kind in TOPICS}, self.overrides), backend)
        else:
            raise ValueError(f"unknown target {self.name!r}")
        self._tokenstream = TokenstreamProcess(config, self.workdir, health_port=health, env=self.env,
                                              workers=self.workers)
        self._tokenstream.start(timeout=60)
        self.proc = self._tokenstream.proc
        return self

    def pids(self) -> list[int]:
        """The server's process and its descendants (worker processes)."""
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                todo += [int(child) for child in task.read_text().split()]
        return found

    def stop(self) -> None:
        """SIGTERM and wait: tokenstream flushes what it holds to Kafka before it exits."""
        if self._tokenstream is not None:
            code = self._tokenstream.stop(timeout=120)
            if code != 0:
                print(f"warning: tokenstream exited {code}:\n{self._tokenstream.logs()[-3000:]}", file=sys.stderr)
            self._tokenstream = None
        elif self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.backend is not None:
            self.backend.terminate()
            self.backend.wait(10)
            self.backend = None

    def __exit__(self, *exc) -> None:
        self.stop()


def _wait_for_grpc(port: int, timeout: float = 15.0) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=timeout)
    channel.close()
