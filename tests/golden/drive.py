"""One capture through the processors of pipelines/default.yaml, built from that file by the service's own registry,
and what came out as canonical JSON lines.

Each capture gets fresh processors (one `shared` state per component id, as the graph gives them), its traces
requests then its logs requests in file order, then a shutdown in the graph's order, which emits every held trace.
Left out of the chain: `memory_limiter` (it reads this process's memory, so it could refuse on a loaded machine) and
`batch` (it only regroups what redaction passed on, on a wall-clock timer); the exporters are replaced by a sink.
Nothing is started, so no background flusher runs: a fake clock, frozen during the replay, is what
stream, trace_cost and feedback read for their `wait`, so a slow machine cannot expire a trace early.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.component import CreateSettings, Kind
from processor.config.loader import load
from processor.config.types import ComponentID
from processor.config.validate import Config, validate
from processor.model import otlp_json, records
from processor.model.batch import Batch, Signal
from processor.processors.stream import processor as stream_module
from processor.receivers.otlp.export import decode_protobuf
from processor.service import registry
from processor.service.telemetry import SelfTelemetry
from processor.testing import SinkConsumer
from tests.data.realclients import ROOT as CAPTURES

DEFAULT_PIPELINE = Path(__file__).parents[2] / "pipelines" / "default.yaml"
#: Pass data on unchanged or only regrouped, and depend on the machine (see the module docstring).
LEFT_OUT = frozenset({"memory_limiter", "batch"})
#: Where the fake clock stands during the replay (any value: only differences are read).
START_S = 1_000.0


def default_config() -> Config:
    # No environment: the file's own defaults, whatever the machine running the test has set.
    return validate(load([DEFAULT_PIPELINE], env={}))


def capture_folders() -> list[Path]:
    """Every capture folder under tests/data/realclients (lib/scenario), sorted."""
    return sorted({p.parent for p in CAPTURES.glob("*/*/*.pb")})


class FakeClock:
    def __init__(self, now: float = START_S) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Chain:
    """The processors of each pipeline of `config` (first to last), each pipeline ending in its own sink."""

    def __init__(self, config: Config, clock: FakeClock) -> None:
        telemetry = SelfTelemetry()
        shared: dict[ComponentID, dict] = {}
        self.heads: dict[Signal, Any] = {}
        self.sinks: dict[Signal, SinkConsumer] = {}
        self.nodes: list[Any] = []  # shutdown order: pipelines in config order, each first to last
        for pipeline in config.pipelines:
            downstream = self.sinks[pipeline.signal] = SinkConsumer()
            built = []
            for cid in reversed(pipeline.processors):
                if cid.type in LEFT_OUT:
                    continue
                settings = CreateSettings(cid, Kind.PROCESSOR, logging.getLogger(f"golden.{cid}"), telemetry,
                                          frozenset({pipeline.signal}), pipeline.id, shared.setdefault(cid, {}))
                factory = registry.get(Kind.PROCESSOR, cid.type)
                downstream = factory.create(settings, config.components[Kind.PROCESSOR][cid], downstream)
                if hasattr(downstream, "clock"):  # trace_cost, feedback: their clock is a constructor argument
                    downstream.clock = clock
                built.insert(0, downstream)
            self.heads[pipeline.signal] = downstream
            self.nodes += built

    async def shutdown(self) -> None:
        for node in self.nodes:
            await node.shutdown()


@contextmanager
def frozen(clock: FakeClock):
    """The stream processor reads time.monotonic() itself: give its module the fake clock instead."""
    with mock.patch.object(stream_module, "time", SimpleNamespace(monotonic=clock)):
        yield


async def replay(folder: Path, config: Config | None = None, *, decode_outputs: bool = True) -> list[dict[str, Any]]:
    """What the default pipeline's processors make of one capture folder: one JSON object per output item (spans as
    the bytes an exporter sends, decoded only here; with `decode_outputs` False, without a decoded view)."""
    clock = FakeClock()
    with frozen(clock):
        chain = Chain(config or default_config(), clock)
        for path in sorted(folder.glob("traces-*.pb")):
            await chain.heads[Signal.TRACES].consume(received(Signal.TRACES, path.read_bytes()))
        for path in sorted(folder.glob("logs-*.pb")):
            await chain.heads[Signal.LOGS].consume(received(Signal.LOGS, path.read_bytes()))
        clock.now += 3_600  # past every `wait`: what shutdown emits would have expired by now anyway
        await chain.shutdown()
    return [line for signal, sink in chain.sinks.items() for batch in sink.batches
            for line in outputs(signal, batch, decode=decode_outputs)]


def received(signal: Signal, body: bytes) -> Batch:
    """The batch the otlp receiver hands on for these bytes (spans as bytes and their index, logs decoded)."""
    return decode_protobuf(signal, body)


def outputs(signal: Signal, batch: Batch, *, decode: bool = True) -> list[dict[str, Any]]:
    """A batch as it leaves the last processor: its request (OTLP/JSON, as the file exporter writes it), stream
    records, anomalies and every other derived record kind (trace costs, feedback, SLO status)."""
    lines: list[dict[str, Any]] = []
    if batch.item_count():
        request = batch.request if decode or signal is not Signal.TRACES else \
            ExportTraceServiceRequest.FromString(batch.data)  # what an exporter sends, decoded outside the Batch
        lines.append({"output": f"{signal}.request", "value": json.loads(otlp_json.encode(request))})
    lines += [{"output": "streams", "value": records.to_json_dict(r)} for r in batch.streams]
    lines += [{"output": "anomalies", "value": records.to_json_dict(a)} for a in batch.anomalies]
    derived = (("feedback", batch.feedback), ("slo_status", batch.slo_status), ("trace_costs", batch.trace_costs))
    lines += [{"output": kind, "value": records.to_json_dict(r)} for kind, found in derived for r in found]
    return lines


def canonical(line: dict[str, Any]) -> str:
    return json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
