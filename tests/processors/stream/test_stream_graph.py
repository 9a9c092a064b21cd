"""The stream processor inside a real pipeline graph: one stream id in a traces and a logs pipeline (sharing its
store), records written by the file exporter, the rest flushed on shutdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processor.component import Factory, Kind
from processor.config.validate import validate
from processor.model.batch import REQUEST_TYPES, Batch, Signal
from processor.service import registry
from processor.service.graph import Graph
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry
from processor.testing.recorder import Recorder, TagConfig

conventions = pytest.importorskip("processor.conventions")
if not hasattr(conventions, "read_llm_call"):
    pytest.skip("the convention adapters have not landed", allow_module_level=True)

CAPTURE = Path(__file__).parents[2] / "data" / "realclients" / "v2" / "length"


def _config(tmp_path: Path) -> dict:
    return {
        "receivers": {"rec/in": {}},
        "processors": {"stream": {"wait": "30s", "cadence": {"stall_gap": "1s"}, "cost": False,
                                  "content_check": False}},
        "exporters": {"file/streams": {"path": str(tmp_path / "streams.jsonl"), "kind": "streams"},
                      "file/spans": {"path": str(tmp_path / "spans.jsonl")}},
        "service": {
            "telemetry": {"metrics": {"level": "none"}},
            "pipelines": {
                "traces": {"receivers": ["rec/in"], "exporters": ["file/spans", "file/streams"],
                           "processors": ["stream"]},
                "logs": {"receivers": ["rec/in"], "processors": ["stream"], "exporters": ["file/spans"]},
            },
        },
    }


async def test_openai_v2_finish_reason_from_the_logs_pipeline_reaches_the_streams_file(tmp_path, monkeypatch):
    real = registry.factories()
    with_recorder = {kind: dict(by_type) for kind, by_type in real.items()}
    with_recorder[Kind.RECEIVER]["rec"] = Factory("rec", Kind.RECEIVER, TagConfig, Recorder)  # a receiver to push to
    monkeypatch.setattr(registry, "factories", lambda: with_recorder)
    graph = Graph(validate(_config(tmp_path)), SelfTelemetry())
    await graph.start(Host(SelfTelemetry()))
    router = graph.receivers[0].component.next
    for signal in (Signal.TRACES, Signal.LOGS):
        for path in sorted(CAPTURE.glob(f"{signal.value}-*.pb")):
            await router.consume(Batch(signal, REQUEST_TYPES[signal].FromString(path.read_bytes())))
    assert (tmp_path / "streams.jsonl").read_text() == ""  # held for the wait
    await graph.shutdown()
    (record,) = [json.loads(line) for line in (tmp_path / "streams.jsonl").read_text().splitlines()]
    assert (record["finish_reason"], record["outcome"], record["truncation_reason"]) == ("length", "truncated",
                                                                                        "length")
    assert record["convention"] and len(record["span_id"]) == 16
    spans = (tmp_path / "spans.jsonl").read_text()
    assert '"tokenstream.outcome"' in spans  # the span was enriched on its way through
