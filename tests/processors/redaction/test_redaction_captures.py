"""Real captures of every instrumentation: no prompt or completion text survives, and nothing else changes."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from processor.processors.redaction.values import HASH_PREFIX
from tests.processors.redaction.captures import CAPTURES, CONTENT_TEXTS, HASH_KEY, content_in, redact

WITH_CONTENT = [c for c in CAPTURES if content_in(c.data)]
WITHOUT_CONTENT = [c for c in CAPTURES if not content_in(c.data)]


def test_the_captures_carry_content_in_every_convention():
    names = {c.name.split("-")[1] for c in WITH_CONTENT}
    assert names >= {"tl", "tl_events", "oi", "v2", "v2_latest", "openlit", "lc_oi", "lc_tl"}
    seen = set().union(*(content_in(c.data) for c in CAPTURES))
    assert seen == set(CONTENT_TEXTS)  # every searched text is really there to be found
    assert [c.name for c in WITHOUT_CONTENT] == ["traces-v2-001"]  # openai-v2 default keeps content in logs


@pytest.mark.parametrize("capture", WITH_CONTENT, ids=lambda c: c.name)
async def test_drop_leaves_no_content_anywhere_in_the_serialized_output(capture):
    batch = await redact(capture.batch())
    output = batch.request.SerializeToString()
    assert content_in(output) == []
    assert batch.item_count() == capture.batch().item_count()


@pytest.mark.parametrize("capture", WITH_CONTENT, ids=lambda c: c.name)
async def test_hash_leaves_no_content_and_marks_every_replaced_value(capture, hash_key):
    output = (await redact(capture.batch(), action="hash", hash_key_env=hash_key)).request.SerializeToString()
    assert content_in(output) == []
    assert HASH_PREFIX.encode() in output


def _hmac(text: str) -> str:
    return HASH_PREFIX + hmac.new(HASH_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def _span_attributes(batch) -> dict:
    return {kv.key: kv.value for rs in batch.request.resource_spans for ss in rs.scope_spans for s in ss.spans
            for kv in s.attributes}


async def test_hash_of_equal_text_is_equal_across_conventions_so_downstream_can_join(hash_key):
    captures = {c.name: c for c in CAPTURES}
    oi = _span_attributes(await redact(captures["traces-oi-001"].batch(), action="hash", hash_key_env=hash_key))
    v2 = await redact(captures["logs-v2-001"].batch(), action="hash", hash_key_env=hash_key)
    bodies = {r.event_name: r.body for rl in v2.request.resource_logs for sl in rl.scope_logs for r in sl.log_records}

    system_prompt = _hmac("You are a terse assistant.")
    assert oi["llm.input_messages.0.message.content"].string_value == system_prompt
    assert bodies["gen_ai.system.message"].kvlist_value.values[0].value.string_value == system_prompt
    completion = "Streaming tokens arrive one by one , and each chunk carries a"
    assert oi["llm.output_messages.0.message.content"].string_value == _hmac(completion)
    assert oi["llm.output_messages.0.message.role"].string_value == _hmac("assistant")


async def test_attributes_that_are_not_content_keep_their_values():
    capture = next(c for c in CAPTURES if c.name == "traces-tl-001")
    before, after = _span_attributes(capture.batch()), _span_attributes(await redact(capture.batch()))
    removed = set(before) - set(after)
    assert removed == {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.headers"}
    assert all(after[key] == before[key] for key in after)
    assert after["gen_ai.usage.output_tokens"].int_value == 12
    spans = [s for rs in capture.batch().request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert sum(len(s.events) for s in spans) == 15  # the chunk events stream reconstruction needs stay


@pytest.mark.parametrize("capture", WITHOUT_CONTENT, ids=lambda c: c.name)
async def test_a_capture_without_content_passes_byte_identical(capture, hash_key):
    for config in ({}, {"action": "hash", "hash_key_env": hash_key, "summary": True}):
        batch = await redact(capture.batch(), **config)
        assert batch.request.SerializeToString() == capture.data
