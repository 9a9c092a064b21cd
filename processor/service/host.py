"""What a running component may ask of the service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from processor.config.types import ComponentID
from processor.service.telemetry import SelfTelemetry


class Status(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    DRAINING = "draining"
    STOPPED = "stopped"


@dataclass
class Host:
    telemetry: SelfTelemetry
    status: Status = Status.STARTING
    extensions: dict[ComponentID, Any] = field(default_factory=dict)
    #: Every live component, by "kind/id": exporters and extensions may look each other up (e.g. streamz).
    components: dict[str, Any] = field(default_factory=dict)
    #: `await host.flush_pipelines(receiver_id)`: flush every Flushable processor of the pipelines that receiver
    #: feeds, first to last (all pipelines for None). Set by the graph when it starts; None before.
    flush_pipelines: Callable[[ComponentID | None], Awaitable[None]] | None = None
