"""The stream processor's sections: each one turned off (`false`) leaves out its record fields, its anomalies and its
span attributes, and nothing else; a section left out (or named without settings, or `true`) runs with its
defaults. One trace, real OpenLLMetry spans, exercises every section: an attempt that streamed and failed, then
its retry, whose chunks stall once and repeat three chunks the completion has once."""

from __future__ import annotations

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from processor.conventions import read_llm_call, select
from processor.model.batch import Batch, Signal
from processor.processors.stream.config import SECTIONS, StreamConfig
from processor.testing import SinkConsumer
from tests.processors.stream.conftest import openllmetry_span, request_of
from tests.stream.builders import MS, attr
from tests.stream.pipeline import stream

ANSWER = ["The", " answer", " is", " forty", "-two", "."]
CUT, RETRY = b"\x01" * 8, b"\x02" * 8
PRICES = {"openai/gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6}}

#: What each section alone adds: (record fields, anomaly kinds, span attributes).
OWN = {
    "cadence": ({"ttft_s", "tpot_s", "duration_s", "tokens_per_s", "first_chunk_time_unix_nano",
                 "last_chunk_time_unix_nano", "chunk_count", "duplicate_chunks", "out_of_order_chunks", "gap_p50_s",
                 "gap_p95_s", "gap_max_s", "stall_count", "stalled_s", "stalled", "cadence_source"},
                {"stall"},
                {"gen_ai.response.time_to_first_chunk", *("tokenstream." + name for name in (
                    "tpot_s", "tokens_per_s", "chunk_count", "gap_p50_s", "gap_p95_s", "gap_max_s", "stall_count",
                    "stalled_s", "stalled", "duplicate_chunks", "out_of_order_chunks", "cadence_source"))}),
    "retries": ({"attempt", "retried_after_partial", "unmarked_retry", "partial_attempt_span_id"},
                {"retry_after_partial", "unmarked_retry"},
                {"tokenstream.attempt", "tokenstream.retried_after_partial", "tokenstream.unmarked_retry",
                 "tokenstream.partial_attempt_span_id"}),
    "truncation": ({"outcome"}, {"abort"}, {"tokenstream.outcome"}),
    "cost": ({"cost_usd"}, set(), {"tokenstream.cost_usd"}),
    "content_check": ({"content_mismatch"}, {"content_mismatch"}, set()),
}


def _trace() -> list:
    """Two requests, as an app exports them: the failed attempt, then its retry."""
    cut = openllmetry_span(ANSWER[:3], completion=None, span_id=CUT)
    cut.status.code = Status.STATUS_CODE_ERROR
    retry = openllmetry_span(ANSWER[:3] + ANSWER, completion="".join(ANSWER), span_id=RETRY,
                             start=cut.end_time_unix_nano + 100 * MS)
    for event in retry.events[5:]:  # a 2.5 s gap after the fifth chunk event: a stall at the default stall_gap
        event.time_unix_nano += 2500 * MS
    retry.end_time_unix_nano += 2500 * MS
    retry.attributes.append(attr("gen_ai.usage.input_tokens", 40))
    return [request_of(cut), request_of(retry)]


def _keys(span) -> list[str]:
    return [kv.key for kv in span.attributes]


class Out:
    def __init__(self, sink: SinkConsumer, sent: list) -> None:
        came_with = {span.span_id: _keys(span) for request in sent for span in request.resource_spans[0]
                     .scope_spans[0].spans}
        self.records = {r.span_id: r for r in sink.streams}
        self.kinds = {a.kind for a in sink.anomalies}
        #: span id -> the attributes added to the span (it keeps every one it came with, in order)
        self.attributes = {}
        for span in sink.spans():
            keys = _keys(span)
            assert keys[:len(came_with[span.span_id])] == came_with[span.span_id]
            self.attributes[span.span_id] = set(keys[len(came_with[span.span_id]):])
        self.chunks = [c for b in sink.batches for c in b.chunks]

    def fields(self) -> set[str]:
        return {f.name for r in self.records.values() for f, _ in r.ListFields()}

    def added(self) -> set[str]:
        return set().union(*self.attributes.values())


async def _run(**config) -> Out:
    sink = SinkConsumer()
    processor = stream(sink, wait=30, conventions=select(["auto"]), read=read_llm_call, **config)
    sent = _trace()  # as the app sent it: the processor enriches the requests it is given
    for request in _trace():
        await processor.consume(Batch(Signal.TRACES, request))
    await processor.shutdown()
    return Out(sink, sent)


@pytest.fixture
async def everything() -> Out:
    return await _run(cost={"prices": PRICES})


async def test_with_every_section_on_each_adds_what_it_owns(everything):
    for section, (fields, kinds, attributes) in OWN.items():
        assert fields <= everything.fields(), section
        assert kinds <= everything.kinds, section
        assert attributes <= everything.added(), section
    assert [c.span_id for c in everything.chunks] == [CUT, RETRY]
    retry = everything.records[RETRY]
    assert (retry.stall_count, retry.attempt, retry.outcome, retry.content_mismatch) == (1, 1, "completed", True)


@pytest.mark.parametrize("off", SECTIONS)
async def test_a_section_turned_off_leaves_out_its_fields_anomalies_and_attributes_only(everything, off):
    out = await _run(**{"cost": {"prices": PRICES}, off: False})
    fields, kinds, attributes = OWN[off]
    assert not fields & out.fields() and not kinds & out.kinds and not attributes & out.added()
    assert out.fields() == everything.fields() - fields
    assert out.kinds == everything.kinds - kinds
    assert out.added() == everything.added() - attributes
    assert bool(out.chunks) is (off != "cadence")  # chunk arrivals come with cadence
    assert set(out.records) == {CUT, RETRY}  # every call still has its record


async def test_every_section_off_leaves_the_record_of_what_the_span_told():
    out = await _run(**dict.fromkeys(SECTIONS, False))
    assert set(out.records) == {CUT, RETRY} and out.kinds == set() and out.chunks == []
    assert out.added() == set()  # the span goes on as it came
    assert {"provider", "request_model", "start_time_unix_nano", "end_time_unix_nano"} <= out.fields()


@pytest.mark.parametrize("written", [{}, dict.fromkeys(SECTIONS), dict.fromkeys(SECTIONS, True),
                                     {"cadence": {"stall_gap": "2s"}, "retries": {"window": "60s",
                                      "markers": ["http.request.resend_count"]}, "truncation": {}, "cost": {},
                                      "content_check": {}}],
                         ids=["left-out", "named-without-settings", "true", "the-defaults-written-out"])
async def test_a_section_left_out_or_named_without_settings_runs_its_defaults(written):
    config = StreamConfig.model_validate(written)
    assert all(getattr(config, s) == type(getattr(config, s)).model_validate({}) for s in SECTIONS)
    default, out = await _run(), await _run(**written)
    assert (out.fields(), out.kinds, out.added()) == (default.fields(), default.kinds, default.added())
    assert out.records == default.records
    assert default.records[RETRY].stall_count == 1  # the default stall_gap (2s) found the 2.5 s gap
    assert not default.records[RETRY].HasField("cost_usd")  # no prices by default: no cost


def test_a_section_is_checked_as_it_is_written():
    with pytest.raises(ValueError, match="stall_factor"):
        StreamConfig.model_validate({"cadence": {"stall_factor": 0}})
    with pytest.raises(ValueError, match="Extra inputs"):
        StreamConfig.model_validate({"truncation": {"reason": "x"}})
