"""The golden comparison: every real capture through the default pipeline's processors gives exactly the outputs
recorded in tests/data/golden/ (stream records, anomalies, trace-cost rollups, the enriched and redacted spans and
log records), and so does a seeded loadgen run (adding SLO status and feedback). A change that alters what users
see fails here; when it is intended, re-record (`make golden`) and commit the data with the change."""

from __future__ import annotations

import json

import pytest

from processor import wire
from processor.model.batch import Batch, Signal
from tests.golden.compare import first_difference
from tests.golden.drive import canonical, capture_folders, default_config, replay
from tests.golden.loadgen import replay_loadgen
from tests.golden.store import GOLDEN, LOADGEN, golden_path, read_lines

RERECORD = "if the change is intended, re-record with `make golden` and commit tests/data/golden with it"


def test_every_capture_has_recorded_outputs():
    recorded = {p.relative_to(GOLDEN) for p in GOLDEN.rglob("*.jsonl*")}
    expected = {golden_path(folder).relative_to(GOLDEN) for folder in capture_folders()} | {LOADGEN.relative_to(GOLDEN)}
    assert len(expected) >= 100  # the captures are there to compare
    assert recorded == expected, f"captures without recorded outputs: {sorted(map(str, expected - recorded))}; " \
                                 f"recorded outputs without a capture: {sorted(map(str, recorded - expected))}; " \
                                 + RERECORD


async def test_the_default_pipeline_gives_the_recorded_outputs():
    config = default_config()
    differing: list[tuple[str, str]] = []
    for folder in capture_folders():
        path = golden_path(folder)
        got = [canonical(line) for line in await replay(folder, config)]
        difference = first_difference(read_lines(path) if path.exists() else [], got)
        if difference is not None:
            differing.append((str(path.relative_to(GOLDEN)), difference))
    if differing:
        name, difference = differing[0]
        others = ", ".join(n for n, _ in differing[1:11]) + (" ..." if len(differing) > 11 else "")
        raise AssertionError(f"{len(differing)} captures differ from tests/data/golden; the first, {name}: "
                             f"{difference}\n{f'also: {others}' if others else ''}\n{RERECORD}")


async def test_a_seeded_loadgen_run_gives_the_recorded_outputs():
    lines = await replay_loadgen()
    # What the run is there for: the trace-level processors' outputs, which no single capture has.
    assert {"streams", "anomalies", "trace_costs", "feedback", "slo_status"} <= {line["output"] for line in lines}
    got = [canonical(line) for line in lines]
    difference = first_difference(read_lines(LOADGEN) if LOADGEN.exists() else [], got)
    if difference is not None:
        raise AssertionError(f"the seeded loadgen run differs from {LOADGEN.relative_to(GOLDEN)}: {difference}\n"
                             f"{RERECORD}")


@pytest.mark.skipif(wire.IMPLEMENTATION != "native", reason="on the pure-Python path the receiver decodes spans")
async def test_spans_from_the_receiver_go_through_the_default_processors_without_being_decoded(monkeypatch):
    """The wire core's promise: the processors read the index and decoded copies of the claimed spans, and enrich and
    redact through the writers, so the bytes an exporter sends (otlp: `batch.data`) are never re-encoded from upb.
    Captures with feedback events are left out: the feedback reader walks those spans' events as messages."""
    decodes: list[str] = []
    property_ = Batch.request

    def counted(batch):
        if batch.signal is Signal.TRACES:  # log records are decoded (the wire core's log index is not used yet)
            decodes.append(str(batch))
        return property_.fget(batch)

    monkeypatch.setattr(Batch, "request", property(counted, property_.fset))
    folders = [folder for folder in capture_folders()
               if not any(b"feedback" in path.read_bytes() for path in folder.glob("traces-*.pb"))]
    assert len(folders) >= 100
    enriched = 0
    for folder in folders:
        decodes.clear()
        lines = await replay(folder, default_config(), decode_outputs=False)
        assert decodes == [], f"{folder}: a traces batch was decoded on its way through the processors"
        enriched += sum(1 for line in lines if line["output"] == "traces.request"
                        and "tokenstream." in json.dumps(line["value"]))
    assert enriched >= 50  # the LLM spans were enriched, through the writer
