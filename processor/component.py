"""The interfaces every component implements.

The service calls `start` and `shutdown` from the event loop, one component at a time:
exporters first and receivers last on start, the reverse on shutdown. `shutdown` may be called
without `start` (when another component failed to start) and must then do nothing harmful.

`consume` is called by the upstream component, concurrently from many receiver requests. It may
await (that is how backpressure travels up to the receiver) and raises `RetryableError` or
`PermanentError` (processor.errors) when it cannot take the batch. Returning means the data is
now this consumer's responsibility.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from processor.config.models import ComponentConfig
from processor.config.types import ComponentID
from processor.model.batch import Batch, Signal
from processor.wire.claims import Claims

if TYPE_CHECKING:
    from processor.errors import RetryableError
    from processor.service.host import Host
    from processor.service.telemetry import SelfTelemetry


@runtime_checkable
class Component(Protocol):
    async def start(self, host: Host) -> None: ...

    async def shutdown(self) -> None: ...


@runtime_checkable
class Consumer(Protocol):
    #: True when `consume` changes the batch it is given; fan-out then hands it a copy.
    mutates_data: bool

    async def consume(self, batch: Batch) -> None: ...


@runtime_checkable
class Claiming(Protocol):
    """A processor that reads spans of batches of bytes through the wire core's index, asking with these claims
    (`Batch.index(claims)`, `Batch.may_hold(claims)`). Known when the pipeline is built: a receiver scans each
    request once with the claims of every pipeline it feeds (a ClaimsSet), and that one index answers each of them
    as its own scan would."""

    span_claims: tuple[Claims, ...]


class Reservation(Protocol):
    def release(self) -> None: ...


class Refusing(Protocol):
    """A consumer that can tell that it would refuse data now, before the data is read (memory_limiter).

    Receivers ask the heads of their pipelines first (`SignalRouter.refusal`): a request refused unread costs
    neither memory nor decoding, which is what keeps refusing cheap in an overload. Then, once a request's body
    has arrived and before it is decoded, they ask for the memory decoding it will take (`reserve`, an estimate
    from the body's size, made by the receiver that knows how it decodes): a request that could never fit is
    refused (`RequestTooLarge`), one that does not fit now is refused for later (`RetryableError`), and the
    reservation is released once the request is decoded, when the memory it took shows in the process's use.
    Both may be called from the gRPC receiver's thread as well as the event loop.
    """

    def refusal(self) -> RetryableError | None: ...

    def reserve(self, decoded_bytes: int) -> Reservation | None: ...


@runtime_checkable
class Flushable(Protocol):
    """A processor that holds data (per-trace state, a pending batch) and can hand all of it downstream now.

    Called by the service (`Host.flush_pipelines`) from the event loop, e.g. by the kafka receiver before it
    gives up partitions in a rebalance, so the next owner of a trace does not start while this member still
    holds part of it. Returns when downstream has taken what was flushed; raises as `consume` does.
    """

    async def flush(self) -> None: ...


class ComponentBase:
    """Default no-op lifecycle, for components with nothing to start or stop."""

    mutates_data = False

    async def start(self, host: Host) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class Kind(StrEnum):
    RECEIVER = "receiver"
    PROCESSOR = "processor"
    EXPORTER = "exporter"
    EXTENSION = "extension"
    #: An exporter of one pipeline and a receiver of another, as in the Collector (e.g. traces -> metrics).
    CONNECTOR = "connector"

    @property
    def section(self) -> str:
        """The config section that holds this kind: `receivers`, `processors`, ..."""
        return f"{self.value}s"


@dataclass(slots=True)
class CreateSettings:
    """What a factory gets besides its config, one per created instance."""

    id: ComponentID
    kind: Kind
    logger: logging.Logger
    telemetry: SelfTelemetry
    #: Signals this instance serves (the pipelines it was created for).
    signals: frozenset[Signal] = field(default_factory=frozenset)
    #: The pipeline this instance serves (`traces`, `traces/name`), for processors; empty for shared components.
    pipeline: str = ""
    #: State shared by every instance created for the same component id, e.g. a processor used in both the
    #: traces and the logs pipeline joining both. Use `shared.setdefault(key, value)`.
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Factory:
    """How the service creates one type of component from its config.

    `create(settings, config, next_consumer)`: receivers, connectors and processors get the consumer they feed
    (a receiver's or connector's is a router that dispatches by signal); exporters and extensions get None.
    A connector takes `signals` (the pipelines it exports from) and `emits` (the pipelines it is a receiver of).
    """

    type: str
    kind: Kind
    config_model: type[ComponentConfig]
    create: Callable[[CreateSettings, Any, Consumer | None], Component]
    signals: frozenset[Signal] = frozenset(Signal)
    description: str = ""
    emits: frozenset[Signal] = frozenset()
