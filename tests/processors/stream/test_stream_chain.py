"""The stream processor with its sections on: spans in, enriched spans, records and anomalies out."""

from __future__ import annotations

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from processor.model.batch import Batch, Signal
from processor.testing import SinkConsumer
from tests.stream.builders import MS, T0, llm_span, traces
from tests.stream.pipeline import default_chain

STALLED = [T0 + 300 * MS + i * 50 * MS for i in range(6)] + [T0 + 2050 * MS + i * 50 * MS for i in range(6)]
PRICES = {"openai/gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6}}


async def test_a_cut_off_stream_and_its_retry_become_two_records_with_their_anomalies():
    sink = SinkConsumer()
    head = default_chain(sink, stall_gap=1.0, prices=PRICES, wait=30)
    cut = llm_span(b"\x01" * 8, chunks=STALLED[:4], status=Status.STATUS_CODE_OK)  # Traceloop's OK on a cutoff
    retry = llm_span(b"\x02" * 8, start=T0 + 3000 * MS, chunks=[t + 3000 * MS for t in STALLED],
                     finish_reason="stop", output_tokens=12, input_tokens=19)
    await head.consume(Batch(Signal.TRACES, traces(cut)))
    await head.consume(Batch(Signal.TRACES, traces(retry)))
    await head.shutdown()
    first, second = sink.streams
    assert (first.outcome, first.truncation_reason, first.attempt) == ("truncated", "cutoff", 0)
    assert (second.outcome, second.attempt, second.retried_after_partial) == ("completed", 1, True)
    assert (second.stall_count, second.cadence_source) == (1, "chunk_events")
    assert second.ttft_s == pytest.approx(0.3) and second.cost_usd == pytest.approx((19 * 0.15 + 12 * 0.6) / 1e6)
    assert sorted(a.kind for a in sink.anomalies) == ["retry_after_partial", "stall", "truncation", "unmarked_retry"]
    enriched = {kv.key: kv.value for kv in sink.spans()[1].attributes}
    assert enriched["tokenstream.attempt"].int_value == 1  # the earlier sibling was already held
    assert enriched["tokenstream.outcome"].string_value == "completed"
    assert enriched["gen_ai.response.time_to_first_chunk"].double_value == pytest.approx(0.3)
    assert enriched["tokenstream.cost_usd"].double_value == pytest.approx(second.cost_usd)


async def test_with_wait_zero_the_record_rides_on_the_batch_of_its_own_span():
    sink = SinkConsumer()
    head = default_chain(sink, wait=0)
    await head.consume(Batch(Signal.TRACES, traces(llm_span(b"\x01" * 8, chunks=STALLED))))
    (batch,) = sink.batches
    assert batch.item_count() == 1 and [r.outcome for r in batch.streams] == ["truncated"]
