"""The pipeline graph: builds every component from the config, wires consumers, starts and stops them.

Build order follows data in reverse, as in the Collector: exporters (shared across pipelines),
then each pipeline's processors from last to first, then receivers (shared, with a router by
signal). Start follows the same order, so nothing receives data before its downstream exists;
shutdown is the reverse, so each stage flushes into a downstream that is still running.
A connector is an exporter of some pipelines and the receiver of others: it starts after every processor
and stops after the pipelines that feed it, before those it feeds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from processor.component import Claiming, Component, Consumer, CreateSettings, Flushable, Kind, Reservation
from processor.config.types import ComponentID
from processor.config.validate import Config
from processor.errors import RetryableError
from processor.model.batch import Batch, Signal
from processor.service import registry
from processor.service.fanout import Fanout, SignalRouter, raise_combined, refusal_of, reservation_of
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.wire.claims import Claims, ClaimsSet

log = logging.getLogger("tokenstream.service")


@dataclass
class Node:
    kind: Kind
    id: ComponentID
    component: Component
    pipeline: str = ""

    @property
    def label(self) -> str:
        where = f" in pipeline {self.pipeline}" if self.pipeline else ""
        return f"{self.kind.value} {self.id}{where}"


class _Counted:
    """Counts items into (or out of) a processor for self-telemetry, then passes the batch on."""

    def __init__(self, inner: Consumer, counter) -> None:
        self.inner = inner
        self.counter = counter
        self.mutates_data = inner.mutates_data

    def refusal(self) -> RetryableError | None:
        return refusal_of(self.inner)

    def reserve(self, decoded_bytes: int) -> Reservation | None:
        return reservation_of(self.inner, decoded_bytes)

    async def consume(self, batch: Batch) -> None:
        self.counter.inc(batch.item_count())
        await self.inner.consume(batch)


class Graph:
    def __init__(self, config: Config, telemetry: SelfTelemetry) -> None:
        self.config = config
        self.telemetry = telemetry
        self.extensions: list[Node] = []
        self.exporters: list[Node] = []
        self.processors: list[list[Node]] = []  # per pipeline, first to last
        self.connectors: list[Node] = []
        self.receivers: list[Node] = []
        self._build()

    def _create(self, kind: Kind, cid: ComponentID, signals, next_consumer, shared: dict,
                pipeline: str = "") -> Component:
        factory = registry.get(kind, cid.type)
        config = self.config.components[kind][cid]
        logger = logging.getLogger(f"tokenstream.{kind.value}.{cid}")
        settings = CreateSettings(cid, kind, logger, self.telemetry, frozenset(signals), pipeline, shared)
        return factory.create(settings, config, next_consumer)

    def _build(self) -> None:
        pipelines = self.config.pipelines
        for name in self.config.service.extensions:
            cid = ComponentID.parse(name)
            self.extensions.append(Node(Kind.EXTENSION, cid, self._create(Kind.EXTENSION, cid, (), None, {})))

        exporters: dict[ComponentID, Component] = {}
        for cid in dict.fromkeys(c for p in pipelines for c in p.exporters):
            signals = {p.signal for p in pipelines if cid in p.exporters}
            exporters[cid] = self._create(Kind.EXPORTER, cid, signals, None, {})
            self.exporters.append(Node(Kind.EXPORTER, cid, exporters[cid]))

        connectors: dict[ComponentID, Component] = {}
        routers: dict[ComponentID, SignalRouter] = {}
        for cid in dict.fromkeys(c for p in pipelines for c in p.to_connectors):
            signals = {p.signal for p in pipelines if cid in p.to_connectors}
            routers[cid] = SignalRouter({})  # its routes are the heads of the pipelines it feeds, built below
            connectors[cid] = self._create(Kind.CONNECTOR, cid, signals, routers[cid], {})
            self.connectors.append(Node(Kind.CONNECTOR, cid, connectors[cid]))

        shared_state: dict[ComponentID, dict] = {}
        heads: dict[ComponentID, dict] = {}  # receiver id -> signal -> [pipeline heads]
        span_claims: dict[ComponentID, list[Claims]] = {}  # receiver id -> what its traces processors read with
        connector_heads: dict[ComponentID, dict] = {}
        for pipeline in pipelines:
            downstream: Consumer = Fanout([exporters[c] for c in pipeline.exporters]
                                          + [connectors[c] for c in pipeline.to_connectors])
            nodes: list[Node] = []
            for cid in reversed(pipeline.processors):
                out = self.telemetry.processor_outgoing.labels(str(cid), pipeline.id)
                component = self._create(Kind.PROCESSOR, cid, {pipeline.signal}, _Counted(downstream, out),
                                         shared_state.setdefault(cid, {}), pipeline.id)
                nodes.insert(0, Node(Kind.PROCESSOR, cid, component, pipeline.id))
                incoming = self.telemetry.processor_incoming.labels(str(cid), pipeline.id)
                downstream = _Counted(component, incoming)
            self.processors.append(nodes)
            claims = [c for node in nodes if isinstance(node.component, Claiming) for c in node.component.span_claims]
            for cid in pipeline.receivers:
                heads.setdefault(cid, {}).setdefault(pipeline.signal, []).append(downstream)
                if pipeline.signal is Signal.TRACES:
                    span_claims.setdefault(cid, []).extend(claims)
            for cid in pipeline.from_connectors:
                connector_heads.setdefault(cid, {}).setdefault(pipeline.signal, []).append(downstream)
        for cid, by_signal in connector_heads.items():
            routers[cid].routes.update({signal: Fanout(consumers) for signal, consumers in by_signal.items()})

        for cid, by_signal in heads.items():
            router = SignalRouter({signal: Fanout(consumers) for signal, consumers in by_signal.items()},
                                  ClaimsSet(tuple(span_claims.get(cid, ()))))
            self.receivers.append(Node(Kind.RECEIVER, cid, self._create(Kind.RECEIVER, cid, by_signal, router, {})))

    def start_order(self) -> list[Node]:
        processors = [node for pipeline in self.processors for node in reversed(pipeline)]
        return [*self.extensions, *self.exporters, *processors, *self.connectors, *self.receivers]

    async def start(self, host: Host) -> None:
        host.flush_pipelines = self.flush
        for node in self.start_order():
            host.components[f"{node.kind.value}/{node.id}"] = node.component
        started: list[Node] = []
        try:
            for node in self.start_order():
                await node.component.start(host)
                started.append(node)
                log.info("started %s", node.label)
        except BaseException:
            log.error("could not start %s; stopping what started", node.label)
            await self._stop(list(reversed(started)))
            raise

    async def flush(self, receiver: ComponentID | None = None) -> None:
        """Flush each Flushable processor of the pipelines `receiver` feeds (all when None), first to last, so
        what one flushes reaches the next before that one flushes in turn."""
        errors: list[BaseException] = []
        for pipeline, nodes in zip(self.config.pipelines, self.processors, strict=True):
            if receiver is not None and receiver not in pipeline.receivers:
                continue
            for node in nodes:
                if isinstance(node.component, Flushable):
                    try:
                        await node.component.flush()
                    except Exception as exc:  # noqa: BLE001 - flush the others all the same, then report
                        errors.append(exc)
        raise_combined(errors)

    def _depths(self) -> list[int]:
        """Per pipeline: 0 when no connector feeds it, else one more than the deepest pipeline feeding it."""
        pipelines = self.config.pipelines
        depths = [0] * len(pipelines)
        for _ in pipelines:  # connectors do not form cycles (validate), so this settles within len(pipelines)
            depths = [1 + max((depths[j] for j, q in enumerate(pipelines) if set(q.to_connectors)
                               & set(p.from_connectors)), default=-1) if p.from_connectors else 0
                      for p in pipelines]
        return depths

    async def shutdown(self) -> None:
        await self._stop(list(reversed(self.start_order())))

    async def _stop(self, nodes: list[Node]) -> None:
        # Receivers stop first; then each pipeline's processors from first to last, so a flush lands in a
        # downstream that is still running (a connector after the pipelines it reads, before those it feeds);
        # then exporters, then extensions.
        order = [n for n in nodes if n.kind is Kind.RECEIVER]
        depths = self._depths()
        for depth in sorted(set(depths)):
            fed = {c for p, d in zip(self.config.pipelines, depths, strict=True) if d == depth
                   for c in p.from_connectors}
            order += [n for n in self.connectors if n.id in fed and n in nodes and n not in order]
            order += [n for p, d, pipeline in zip(self.config.pipelines, depths, self.processors, strict=True)
                      if d == depth for n in pipeline if n in nodes]
        order += [n for n in nodes if n.kind in (Kind.EXPORTER, Kind.EXTENSION, Kind.CONNECTOR) and n not in order]
        order.sort(key=lambda n: n.kind is Kind.EXTENSION)
        for node in order:
            try:
                await node.component.shutdown()
                log.info("stopped %s", node.label)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("error while stopping %s", node.label)
