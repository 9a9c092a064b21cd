"""The stream processor's content check: the text rebuilt from chunks against the completion the span recorded."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from processor.processors.stream.compare import difference
from tests.processors.stream.conftest import openllmetry_span, request_of
from tests.stream.builders import MS, T0, TRACE, attr

ANSWER = ["The", " answer", " is", " forty", "-two", ",", " as", " computed", "."]
COMPLETION = "".join(ANSWER)
WORDS = ("answer", "forty", "computed")


async def test_a_retry_whose_chunks_were_appended_to_the_broken_attempt_is_a_duplicated_chunks_mismatch(make_chain):
    chain = make_chain()
    # The gateway retried after 3 chunks and kept streaming into the same span: those 3 came twice.
    await chain.send(request_of(openllmetry_span(ANSWER[:3] + ANSWER, completion=COMPLETION)))
    await chain.finish()
    (record,) = chain.records()
    assert record.content_mismatch is True
    (anomaly,) = chain.anomalies()
    repeated = len("".join(ANSWER[:3]))
    assert f"text repeated from offset {repeated}" in anomaly.detail and "(duplicated chunks)" in anomaly.detail
    assert "first streamed at offset 0" in anomaly.detail
    assert anomaly.span_id == record.span_id and anomaly.severity == "warning" and anomaly.request_model
    assert not any(word in anomaly.detail for word in WORDS)  # offsets and fingerprints only, never text
    assert "sha256:" in anomaly.detail


async def test_a_retry_that_streamed_a_different_answer_is_a_contradictory_chunks_mismatch(make_chain):
    chain = make_chain()
    await chain.send(request_of(openllmetry_span(["The", " answer", " is", " six"] + ANSWER, completion=COMPLETION)))
    await chain.finish()
    (anomaly,) = chain.anomalies()
    assert "diverges at offset 14: 17 characters" in anomaly.detail and "(contradictory chunks)" in anomaly.detail
    assert chain.records()[0].content_mismatch is True


async def test_chunks_that_add_up_to_the_completion_are_no_mismatch(make_chain):
    chain = make_chain()
    await chain.send(request_of(openllmetry_span(ANSWER, completion=COMPLETION)))
    await chain.finish()
    (record,) = chain.records()
    assert record.HasField("content_mismatch") and record.content_mismatch is False
    assert chain.anomalies() == [] and chain.checked("match") == 1


async def test_nothing_is_compared_without_chunk_text_or_without_a_recorded_completion(make_chain):
    chain = make_chain()
    await chain.send(request_of(openllmetry_span(ANSWER, completion=None, span_id=b"\x03" * 8),
                                openllmetry_span(ANSWER, completion=COMPLETION, span_id=b"\x04" * 8,
                                                 text_key="not.configured", start=T0 + 5 * MS)))
    await chain.finish()
    assert [r.HasField("content_mismatch") for r in chain.records()] == [False, False]
    assert chain.checked("match") == chain.checked("mismatch") == 0


async def test_the_text_keys_are_configurable(make_chain):
    chain = make_chain(text_keys=["my.chunk.text"])
    await chain.send(request_of(openllmetry_span(ANSWER[:2] + ANSWER, completion=COMPLETION,
                                                 text_key="my.chunk.text")))
    await chain.finish()
    assert "(duplicated chunks)" in chain.anomalies()[0].detail


async def test_with_an_hmac_key_the_fingerprints_are_keyed(make_chain, monkeypatch):
    monkeypatch.setenv("CONTENT_KEY", "k" * 32)
    keyed, plain = make_chain(hash_key_env="CONTENT_KEY"), make_chain()
    for chain in (keyed, plain):
        await chain.send(request_of(openllmetry_span(ANSWER[:3] + ANSWER, completion=COMPLETION)))
        await chain.finish()
    keyed_detail, plain_detail = keyed.anomalies()[0].detail, plain.anomalies()[0].detail
    assert "hmac-sha256:" in keyed_detail and "sha256:" in plain_detail and "hmac" not in plain_detail
    assert keyed_detail.split("(duplicated")[0] != plain_detail.split("(duplicated")[0]


def _chunk_logs(span_id: bytes, chunks: list[str], *, choice: str | None) -> ExportLogsServiceRequest:
    """Per-chunk log records (text in the body) and openai-v2's gen_ai.choice with the final message."""
    request = ExportLogsServiceRequest()
    logs = request.resource_logs.add().scope_logs.add().log_records
    for index, text in enumerate(chunks):
        log = logs.add(trace_id=TRACE, span_id=span_id, time_unix_nano=T0 + (300 + 20 * index) * MS,
                       event_name="gen_ai.content.completion.chunk")
        log.body.string_value = text
    if choice is not None:
        log = logs.add(trace_id=TRACE, span_id=span_id, time_unix_nano=T0 + 900 * MS, event_name="gen_ai.choice")
        message = log.body.kvlist_value.values.add(key="message").value.kvlist_value
        message.values.append(attr("content", choice))
    return request


async def test_chunk_log_records_rebuild_the_text_and_the_choice_log_gives_the_completion(make_chain):
    chain = make_chain()
    good, bad = b"\x05" * 8, b"\x06" * 8
    await chain.send(request_of(openllmetry_span([], completion=None, span_id=good),
                                openllmetry_span([], completion=None, span_id=bad, start=T0 + MS)),
                     _chunk_logs(good, ANSWER, choice=COMPLETION),
                     _chunk_logs(bad, ANSWER[:4] + ANSWER, choice=COMPLETION))
    await chain.finish()
    flags = {r.span_id: r.content_mismatch for r in chain.records()}
    assert flags == {good: False, bad: True}
    (anomaly,) = chain.anomalies()
    assert anomaly.span_id == bad and "chunk log records" in anomaly.detail and "(duplicated chunks)" in anomaly.detail


def test_the_difference_says_where_and_how():
    assert difference("abc", "abc") is None
    assert difference("abcabcdef", "abcdef") == \
        "text repeated from offset 3: 3 characters first streamed at offset 0 came again (duplicated chunks)"
    assert difference("abQdef", "abcdef") == "diverges at offset 2 (contradictory chunks)"
    assert difference("abc", "abcdef") == "3 characters missing at offset 3 (lost chunks)"
    assert difference("abcdefgh", "abcdef").endswith("from offset 6 (extra chunks)")
