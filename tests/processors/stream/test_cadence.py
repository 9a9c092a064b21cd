from __future__ import annotations

import pytest

from processor.processors.cadence.config import CadenceConfig
from processor.processors.cadence.processor import CadenceProcessor
from processor.testing import SinkConsumer
from tests.stream.builders import MS, T0, llm_span, make_call, traces
from tests.stream.pipeline import final_batch, receipt_batch, settings_for

STALLED = [T0 + 300 * MS + i * 50 * MS for i in range(6)] + [T0 + 2050 * MS + i * 50 * MS for i in range(6)]


def _cadence(sink, **config):
    return CadenceProcessor(settings_for("cadence"), CadenceConfig(**config), sink)


async def test_a_final_record_gets_cadence_and_one_stall_anomaly_per_stall():
    sink = SinkConsumer()
    await _cadence(sink, stall_gap="1s").consume(final_batch(make_call(chunks=STALLED, output_tokens=12)))
    (record,) = sink.streams
    assert (record.cadence_source, record.chunk_count, record.stall_count, record.stalled) == \
        ("chunk_events", 12, 1, True)
    assert record.ttft_s == pytest.approx(0.3) and record.stalled_s == pytest.approx(1.5)
    (anomaly,) = sink.anomalies
    assert (anomaly.kind, anomaly.severity, anomaly.time_unix_nano) == ("stall", "warning", STALLED[5])
    assert anomaly.span_id == record.span_id and anomaly.request_model == "gpt-4o-mini"


async def test_unknown_cadence_stays_absent():
    sink = SinkConsumer()
    await _cadence(sink).consume(final_batch(make_call(end=T0 + 900 * MS)))
    (record,) = sink.streams
    assert not any(record.HasField(f) for f in ("ttft_s", "tpot_s", "stall_count", "gap_p50_s", "cadence_source"))
    assert record.duration_s == pytest.approx(0.9) and sink.anomalies == []


async def test_the_span_is_enriched_at_receipt_without_overwriting_what_it_has():
    sink = SinkConsumer()
    request = traces(llm_span(b"\x01" * 8, chunks=STALLED))
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.add(key="tokenstream.chunk_count").value.int_value = 99
    await _cadence(sink, stall_gap="1s").consume(receipt_batch(request, make_call(chunks=STALLED, output_tokens=12)))
    attrs = {kv.key: kv.value for kv in sink.spans()[0].attributes}
    assert attrs["gen_ai.response.time_to_first_chunk"].double_value == pytest.approx(0.3)
    assert attrs["tokenstream.stall_count"].int_value == 1 and attrs["tokenstream.stalled"].bool_value
    assert attrs["tokenstream.chunk_count"].int_value == 99 and sink.anomalies == []
