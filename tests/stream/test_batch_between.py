"""A `batch` processor before `stream`: requests merged into one batch keep the enrichment of every LLM span and
give the same stream records, the same as without the merge, whether the batch holds bytes (the receiver's, on the
compiled path: enrichment is written by span ids when the bytes are read) or decoded spans (the pure-Python path).
With one stream processor there is nothing between the reading and the enriching for a merge to come between; this
checks that a merge before it loses nothing either (issue 16: a batch between the old processors lost it)."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor import wire
from processor.component import Kind
from processor.config.validate import validate
from processor.model.batch import Batch, Signal
from processor.processors.batch.config import BatchConfig
from processor.processors.batch.processor import BatchProcessor
from processor.processors.stream import factory
from processor.receivers.otlp.export import decode_protobuf
from processor.testing import SinkConsumer, create_settings
from tests.data.realclients import ROOT as CAPTURES

CAPTURED = [CAPTURES / "tl" / scenario / "traces-001.pb" for scenario in ("normal", "stall", "length")]
#: How a batch arrives: as the OTLP receiver makes it (bytes on the compiled path), or decoded.
ARRIVALS = {"received": lambda data: decode_protobuf(Signal.TRACES, data),
            "decoded": lambda data: Batch(Signal.TRACES, ExportTraceServiceRequest.FromString(data))}


def _chain(sink, *, batch_before: bool):
    config = factory.config_model.model_validate({"wait": "5s", "cadence": {"stall_gap": "2s"}})
    head = factory.create(create_settings("stream", Kind.PROCESSOR), config, sink)
    if batch_before:
        head = BatchProcessor(create_settings("batch", Kind.PROCESSOR),
                              BatchConfig(timeout=0.05, send_batch_size=100_000), head)
    return head


def _stream_processor(head):
    return head.next if isinstance(head, BatchProcessor) else head


def _enriched(sink: SinkConsumer) -> dict[bytes, dict[str, object]]:
    """span id -> the attributes stream processing added, over everything the sink got."""
    out = {}
    for batch in sink.batches:
        request = ExportTraceServiceRequest.FromString(batch.data)
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    added = {kv.key: kv.value for kv in span.attributes
                             if kv.key.startswith("tokenstream.") or kv.key == "gen_ai.response.time_to_first_chunk"}
                    if added:
                        out[span.span_id] = added
    return out


@pytest.mark.parametrize("arrival", sorted(ARRIVALS))
async def test_merged_requests_keep_every_spans_enrichment_and_give_the_same_records(arrival):
    make = ARRIVALS[arrival]
    alone, merged = SinkConsumer(), SinkConsumer()
    for path in CAPTURED:
        head = _chain(alone, batch_before=False)
        await head.consume(make(path.read_bytes()))
        await head.shutdown()
    head = _chain(merged, batch_before=True)
    await asyncio.wait_for(asyncio.gather(*(head.consume(make(path.read_bytes())) for path in CAPTURED)), 10)
    await _stream_processor(head).shutdown()
    assert [b.item_count() for b in merged.batches if b.item_count()] == [alone.item_count]  # one merged batch
    expected = _enriched(alone)
    assert len(expected) == len(CAPTURED)  # every LLM span was enriched: a loss shows as a missing or short entry
    assert _enriched(merged) == expected
    key = lambda r: r.span_id  # noqa: E731
    assert sorted(merged.streams, key=key) == sorted(alone.streams, key=key) and len(alone.streams) == len(CAPTURED)


def test_the_received_batch_is_bytes_on_the_compiled_path_and_decoded_on_the_pure_one():
    """So that the two runs of this file (TOKENSTREAM_PURE_PYTHON set or not) cover both ways a batch is merged."""
    batch = ARRIVALS["received"](CAPTURED[0].read_bytes())
    assert batch.decoded is (wire.IMPLEMENTATION != "native")


def test_validate_accepts_a_batch_before_stream():
    config = validate({
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"}}}},
        "processors": {"batch": {}, "stream": {}, "slo": {}},
        "exporters": {"debug": {}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch", "stream", "slo"],
                                             "exporters": ["debug"]}}},
    })
    (pipeline,) = config.pipelines
    assert [str(cid) for cid in pipeline.processors] == ["batch", "stream", "slo"]
