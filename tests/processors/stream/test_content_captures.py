"""No false positive on the reference captures of real instrumentations: replayed as they are, and, for the
LangChain ones, with LangChain's own `new_token` run events (data/langchain_new_tokens.json, from the captures'
langchain-runs.jsonl) added to the LLM span as `new_token` span events carrying `token`, as a bridge from
LangChain's tracer to OTel would write them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.data.realclients import LIBRARIES, load_capture, scenarios
from tests.stream.builders import attr

NEW_TOKENS = json.loads((Path(__file__).parent / "data" / "langchain_new_tokens.json").read_text())


def _with_new_tokens(capture, tokens: list[list]) -> int:
    """Adds the run's new_token events to the capture's LangChain LLM span; returns how many spans got them."""
    touched = 0
    for request in capture.traces:
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                if "langchain" not in ss.scope.name:
                    continue
                for span in ss.spans:
                    for time, token in tokens:
                        span.events.add(name="new_token", time_unix_nano=time, attributes=[attr("token", token)])
                    touched += 1
    return touched


@pytest.mark.parametrize(("lib", "scenario"), [(lib, s) for lib in LIBRARIES for s in scenarios(lib)])
async def test_no_capture_as_recorded_is_a_content_mismatch(make_chain, lib, scenario):
    capture = load_capture(lib, scenario)
    chain = make_chain()
    await chain.send(*capture.traces, *capture.logs)
    await chain.finish()
    assert chain.anomalies() == []
    assert not any(r.content_mismatch for r in chain.records())


@pytest.mark.parametrize("key", sorted(NEW_TOKENS))
async def test_langchain_new_token_payloads_rebuild_exactly_what_the_span_recorded(make_chain, key):
    capture = load_capture(*key.split("/"))
    assert _with_new_tokens(capture, NEW_TOKENS[key]) == 1
    chain = make_chain()
    await chain.send(*capture.traces, *capture.logs)
    await chain.finish()
    assert chain.anomalies() == [] and chain.checked("mismatch") == 0
    # Traceloop's LangChain tracer records no completion on a failed stream: nothing to compare there.
    compared = 0 if key in ("lc_tl/cutoff", "lc_tl/client_cancel") else 1
    assert chain.checked("match") == compared


async def test_the_same_capture_with_a_token_delivered_twice_is_a_mismatch(make_chain):
    capture = load_capture("lc_oi", "normal")
    tokens = NEW_TOKENS["lc_oi/normal"]
    again = tokens[3][0]  # " tokens arrive" streamed a second time right after " arrive"
    _with_new_tokens(capture, [*tokens[:4], [again + 1, tokens[2][1]], [again + 2, tokens[3][1]], *tokens[4:]])
    chain = make_chain()
    await chain.send(*capture.traces)
    await chain.finish()
    (anomaly,) = chain.anomalies()
    assert "text repeated from offset 24: 14 characters first streamed at offset 10" in anomaly.detail
    assert "(duplicated chunks)" in anomaly.detail
