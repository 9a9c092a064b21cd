"""Route and tenant labels: from configurable attributes on the LLM span, else on its resource."""

from __future__ import annotations

import random

from processor.component import Kind
from processor.loadgen.profiles import draw
from processor.loadgen.spans import TraceBuilder, _attr
from processor.model.batch import Batch, Signal
from processor.processors.stream import factory
from processor.testing import SinkConsumer, create_settings


def _processor(sink, **config):
    """The stream processor as the service builds it: its factory, the real convention adapters."""
    settings = create_settings("stream", Kind.PROCESSOR, signals=(Signal.TRACES,))
    return factory.create(settings, factory.config_model.model_validate(config), sink)


def _traffic(count: int):
    rng = random.Random(4)
    builder = TraceBuilder(rng)
    plans = [draw("normal", rng) for _ in range(count)]
    for plan in plans:
        builder.add(plan)
    return builder.request, plans


async def test_route_and_tenant_come_from_the_llm_span_attributes():
    sink = SinkConsumer()
    processor = _processor(sink)
    request, plans = _traffic(5)
    await processor.consume(Batch(Signal.TRACES, request))
    await processor.shutdown()
    labels = sorted((r.route, r.tenant, r.session_id) for r in sink.streams)
    assert labels == sorted((p.route, p.tenant, p.session) for p in plans)


async def test_configured_keys_fall_back_to_the_resource():
    sink = SinkConsumer()
    processor = _processor(sink, route_keys=["app.route"], tenant_keys=["org"])
    request, _ = _traffic(2)
    request.resource_spans[0].resource.attributes.extend([_attr("app.route", "/v2/agent"), _attr("org", "acme")])
    await processor.consume(Batch(Signal.TRACES, request))
    await processor.shutdown()
    assert {(r.route, r.tenant) for r in sink.streams} == {("/v2/agent", "acme")}

