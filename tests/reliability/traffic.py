"""Realistic LLM traces (the loadgen's OpenLLMetry spans), made cheap to send many times over.

A few requests are built once; each send rewrites their trace ids in the serialized bytes, so every request
carries traces nobody sent before and each span is known by (trace id, span id) at the sink.
"""

from __future__ import annotations

import itertools
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.loadgen.profiles import StreamPlan, draw
from processor.loadgen.spans import TraceBuilder

SpanKey = tuple[bytes, bytes]


@dataclass
class Template:
    body: bytes
    #: trace id -> the span ids under it
    traces: dict[bytes, list[bytes]]

    @property
    def span_count(self) -> int:
        return sum(len(spans) for spans in self.traces.values())


def build_template(plans: list[StreamPlan], rng: random.Random) -> Template:
    builder = TraceBuilder(rng)
    for plan in plans:
        builder.add(plan)
    traces: dict[bytes, list[bytes]] = {}
    for resource in builder.request.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                traces.setdefault(span.trace_id, []).append(span.span_id)
    return Template(builder.request.SerializeToString(), traces)


@dataclass
class Request:
    body: bytes
    keys: list[SpanKey]
    #: Spans in it that no Kafka record can hold: the receiver must refuse these, by partial success or error
    too_large: frozenset[SpanKey] = frozenset()


class Traffic:
    """`next()` gives a request of `traces_per_request` traces that were never sent before."""

    def __init__(self, *, traces_per_request: int = 10, templates: int = 8, profile: str = "mixed", seed: int = 8,
                 plan: Callable[[StreamPlan, int], StreamPlan] | None = None) -> None:
        rng = random.Random(seed)
        self._run = rng.getrandbits(62) | 1 << 62  # keeps these ids apart from any other run's
        counter = itertools.count()
        self.templates = [build_template([(plan or _same)(draw(profile, rng), next(counter))
                                          for _ in range(traces_per_request)], rng) for _ in range(templates)]
        self._serial = itertools.count(1)
        self._cycle = itertools.cycle(self.templates)

    @property
    def spans_per_request(self) -> float:
        return sum(t.span_count for t in self.templates) / len(self.templates)

    def next(self) -> Request:
        template = next(self._cycle)
        body = template.body
        keys: list[SpanKey] = []
        for old in template.traces:
            new = struct.pack(">QQ", self._run, next(self._serial))
            body = body.replace(old, new)
            keys += [(new, span_id) for span_id in template.traces[old]]
        return Request(body, keys)


def _same(plan: StreamPlan, _index: int) -> StreamPlan:
    return plan


def span_keys(message: bytes) -> list[SpanKey]:
    """Every (trace id, span id) in one spans-topic record (an OTLP ExportTraceServiceRequest)."""
    request = ExportTraceServiceRequest.FromString(message)
    return [(span.trace_id, span.span_id) for resource in request.resource_spans
            for scope in resource.scope_spans for span in scope.spans]
