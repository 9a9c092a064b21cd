"""The claims a pipeline's processors read spans with (component.Claiming) reach the receivers that feed it, which
scan each request once with all of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import payloads
from processor import wire
from processor.component import Kind
from processor.config.loader import load
from processor.config.validate import validate
from processor.model.batch import Signal
from processor.processors.stream.reading import CLAIMS
from processor.receivers.otlp.export import PROTOBUF_DECODER, ExportHandler
from processor.service.fanout import SignalRouter
from processor.service.graph import Graph
from processor.service.telemetry import SelfTelemetry
from processor.testing import create_settings

DEFAULT = Path(__file__).parents[2] / "pipelines" / "default.yaml"
FEEDBACK = wire.Claims(event_names=("gen_ai.feedback", "user.feedback"))  # the feedback processor's defaults


def _router(overrides: tuple[str, ...] = ()) -> SignalRouter:
    graph = Graph(validate(load([DEFAULT], overrides)), SelfTelemetry())
    (receiver,) = graph.receivers
    return receiver.component.handler.next


def test_the_default_pipeline_registers_the_stream_and_feedback_claims():
    assert _router().span_claims.members == (CLAIMS, FEEDBACK)


def test_a_traces_pipeline_without_stream_registers_none():
    """feedback is only in the logs pipeline then: log records are decoded, nothing is scanned for them."""
    router = _router(("service.pipelines.traces.processors=[memory_limiter,batch]",))
    assert not router.span_claims


class Kept:
    mutates_data = False


@pytest.mark.skipif(wire.IMPLEMENTATION != "native", reason="the pure-Python path decodes spans (no scan)")
def test_the_receiver_scans_once_and_each_processor_reads_from_that_index(monkeypatch):
    made = []
    scan = wire.scan_traces
    monkeypatch.setattr(wire, "scan_traces", lambda data, claims=wire.NO_CLAIMS: made.append(claims) or scan(
        data, claims))
    claims_set = wire.ClaimsSet((CLAIMS, FEEDBACK))
    handler = ExportHandler(create_settings("otlp", Kind.RECEIVER), SignalRouter({Signal.TRACES: Kept()}, claims_set))
    body = payloads.build("mixed", variants=1)[0]
    with handler.admitted(Signal.TRACES, "grpc", body, PROTOBUF_DECODER) as batch:
        assert batch.may_hold(CLAIMS) and not batch.may_hold(FEEDBACK)
        assert list(batch.index(CLAIMS).claimed_rows) == list(scan(body, CLAIMS).claimed_rows)
    assert made == [claims_set]
