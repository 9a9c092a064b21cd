"""Worker processes: what a worker knows about itself, and how its config differs from the supervisor's.

With `service.workers: N` the supervisor (processor/service/supervisor.py) runs N copies of `tokenstream run`
that listen on the same ports with SO_REUSEPORT: the kernel gives each TCP connection to one worker, so a
client's requests on one connection (a gateway's retries included) stay together. A worker learns its place
from the environment the supervisor sets. What would clash between workers is made per worker here:

- a `file` exporter's `path` gets the worker index before its extension (`spans.jsonl` -> `spans.worker0.jsonl`);
- a kafka persistent queue `directory` gets a `worker<i>` subfolder, so a restarted worker re-sends what its
  predecessor left there;
- Kafka clients that would start the embedded broker use the supervisor's single broker instead;
- `health_check` extensions are served by the supervisor (one answer for the whole set of workers), as are the
  self-telemetry and prometheus endpoints (metrics summed across workers).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from processor.component import Kind

if TYPE_CHECKING:  # validate imports the registry, which imports the components that import this module
    from processor.config.validate import Config

ENV_INDEX = "TOKENSTREAM_WORKER_INDEX"
ENV_COUNT = "TOKENSTREAM_WORKER_COUNT"
ENV_DIR = "TOKENSTREAM_WORKER_DIR"
ENV_EMBEDDED_KAFKA = "TOKENSTREAM_EMBEDDED_KAFKA"
#: prometheus_client reads this at import: every metric of a worker then lives in a file the supervisor sums.
ENV_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"

#: Extension types the supervisor serves in place of the workers.
SUPERVISOR_EXTENSIONS = frozenset({"health_check"})


@dataclass(frozen=True)
class WorkerContext:
    index: int
    count: int
    #: Shared with the supervisor: readiness marks, metric files, prometheus snapshots.
    directory: Path
    embedded_kafka: str | None = None

    def env(self) -> dict[str, str]:
        env = {ENV_INDEX: str(self.index), ENV_COUNT: str(self.count), ENV_DIR: str(self.directory),
               ENV_MULTIPROC: str(metrics_dir(self.directory))}
        if self.embedded_kafka:
            env[ENV_EMBEDDED_KAFKA] = self.embedded_kafka
        return env

    def mark_ready(self) -> None:
        """Tell the supervisor this process has started every component."""
        ready_path(self.directory, os.getpid()).touch()


def metrics_dir(directory: Path) -> Path:
    return directory / "metrics"


def ready_path(directory: Path, pid: int) -> Path:
    return directory / f"ready-{pid}"


def snapshots_dir(directory: Path, component_id: str) -> Path:
    """Where the worker's prometheus exporter `component_id` publishes its aggregates."""
    return directory / "prometheus" / component_id.replace("/", "_")


@functools.cache
def current_worker() -> WorkerContext | None:
    """This process's place among the workers, or None when it is not a worker."""
    index = os.environ.get(ENV_INDEX)
    if index is None:
        return None
    return WorkerContext(int(index), int(os.environ.get(ENV_COUNT, "1")), Path(os.environ[ENV_DIR]),
                         os.environ.get(ENV_EMBEDDED_KAFKA) or None)


def shares_ports() -> bool:
    """Listeners of a worker set SO_REUSEPORT; elsewhere a taken port must fail loudly."""
    return current_worker() is not None


def worker_config(config: Config, worker: WorkerContext) -> Config:
    """The config one worker runs: see the module docstring for what differs."""
    from processor.kafka.client import KafkaClientConfig

    components = {kind: dict(by_id) for kind, by_id in config.components.items()}
    for kind, by_id in components.items():
        for cid, component in by_id.items():
            update = {}
            if kind is Kind.EXPORTER and cid.type == "file":
                path = Path(component.path)
                update["path"] = str(path.with_name(f"{path.stem}.worker{worker.index}{path.suffix}"))
            storage = getattr(getattr(component, "sending_queue", None), "storage", None)
            if storage is not None:
                directory = str(Path(storage.directory) / f"worker{worker.index}")
                queue = component.sending_queue.model_copy(update={"storage": storage.model_copy(
                    update={"directory": directory})})
                update["sending_queue"] = queue
            if isinstance(component, KafkaClientConfig) and component.uses_embedded() and worker.embedded_kafka:
                update["brokers"] = [worker.embedded_kafka]
            if update:
                by_id[cid] = component.model_copy(update=update)
    extensions = [name for name in config.service.extensions if name.partition("/")[0] not in SUPERVISOR_EXTENSIONS]
    service = config.service.model_copy(update={"extensions": extensions})
    return dataclasses.replace(config, components=components, service=service)


def uses_embedded_kafka(config: Config) -> bool:
    from processor.kafka.client import KafkaClientConfig

    return any(isinstance(c, KafkaClientConfig) and c.uses_embedded()
               for by_id in config.components.values() for c in by_id.values())
