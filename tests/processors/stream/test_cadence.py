"""The stream processor's `cadence` section: TTFT, gaps and stalls in the final record, its stall anomalies, its
chunk arrivals (Batch.chunks), and the span enriched at receipt."""

from __future__ import annotations

import pytest

from processor.model.batch import Batch, Signal
from processor.testing import SinkConsumer
from tests.stream.builders import MS, T0, llm_span, traces
from tests.stream.pipeline import stream

STALLED = [T0 + 300 * MS + i * 50 * MS for i in range(6)] + [T0 + 2050 * MS + i * 50 * MS for i in range(6)]
#: Only cadence: what the other sections would add is not this file's subject.
ONLY = {"retries": False, "truncation": False, "cost": False, "content_check": False}


async def _final(span, **cadence) -> SinkConsumer:
    """The span through a stream processor with `cadence`; shutdown emits its final record."""
    sink = SinkConsumer()
    processor = stream(sink, cadence=cadence, **ONLY)
    await processor.consume(Batch(Signal.TRACES, traces(span)))
    await processor.shutdown()
    return sink


async def test_a_final_record_gets_cadence_and_one_stall_anomaly_per_stall():
    sink = await _final(llm_span(b"\x01" * 8, chunks=STALLED, output_tokens=12, input_tokens=3), stall_gap="1s")
    (record,) = sink.streams
    assert (record.cadence_source, record.chunk_count, record.stall_count, record.stalled) == \
        ("chunk_events", 12, 1, True)
    assert record.ttft_s == pytest.approx(0.3) and record.stalled_s == pytest.approx(1.5)
    (anomaly,) = sink.anomalies
    assert (anomaly.kind, anomaly.severity, anomaly.time_unix_nano) == ("stall", "warning", STALLED[5])
    assert anomaly.span_id == record.span_id and anomaly.request_model == "gpt-4o-mini"
    assert "stall threshold 1.000 s" in anomaly.detail
    (chunks,) = [c for b in sink.batches for c in b.chunks]
    assert (chunks.span_id, list(chunks.times)) == (record.span_id, STALLED)
    assert [(s.start_unix_nano, round(s.gap_s, 3)) for s in chunks.stalls] == [(STALLED[5], 1.5)]


async def test_unknown_cadence_stays_absent():
    sink = await _final(llm_span(b"\x01" * 8, end=T0 + 900 * MS))
    (record,) = sink.streams
    assert not any(record.HasField(f) for f in ("ttft_s", "tpot_s", "stall_count", "gap_p50_s", "cadence_source"))
    assert record.duration_s == pytest.approx(0.9) and sink.anomalies == []
    assert not any(b.chunks for b in sink.batches)  # no chunk events: no chunk arrivals


async def test_the_span_is_enriched_at_receipt_without_overwriting_what_it_has():
    sink = SinkConsumer()
    span = llm_span(b"\x01" * 8, chunks=STALLED, output_tokens=12, input_tokens=3)
    span.attributes.add(key="tokenstream.chunk_count").value.int_value = 99
    await stream(sink, cadence={"stall_gap": "1s"}, **ONLY).consume(Batch(Signal.TRACES, traces(span)))
    attrs = {kv.key: kv.value for kv in sink.spans()[0].attributes}
    assert attrs["gen_ai.response.time_to_first_chunk"].double_value == pytest.approx(0.3)
    assert attrs["tokenstream.stall_count"].int_value == 1 and attrs["tokenstream.stalled"].bool_value
    assert attrs["tokenstream.chunk_count"].int_value == 99
    assert sink.streams == [] and sink.anomalies == []  # the record and its anomalies wait for the trace


#: Ten chunks 10 ms apart, then one 200 ms later: long for this stream, short of any stall_gap.
EVEN_THEN_SLOW = [T0 + 300 * MS + i * 10 * MS for i in range(10)] + [T0 + 590 * MS]


@pytest.mark.parametrize(("factor", "stalls"), [(None, 0), (5.0, 1), (50.0, 0)])
async def test_stall_factor_reaches_the_records(factor, stalls):
    cadence = {"stall_gap": "2s"} if factor is None else {"stall_gap": "2s", "stall_factor": factor}
    sink = await _final(llm_span(b"\x01" * 8, chunks=EVEN_THEN_SLOW), **cadence)
    (record,) = sink.streams
    assert (record.stall_count, record.stalled) == (stalls, bool(stalls))
    assert [a.kind for a in sink.anomalies] == ["stall"] * stalls
    if stalls:  # the threshold the factor gave: 5 x the 10 ms median gap
        assert sink.anomalies[0].time_unix_nano == EVEN_THEN_SLOW[-2]
        assert "stall threshold 0.050 s" in sink.anomalies[0].detail
