"""Known stream records in, one real scrape of /metrics out: every value is what the input implies."""

from __future__ import annotations

import math

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

# The contract's bucket boundaries (DESIGN.md, issue 5), written out rather than imported.
TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
TPOT = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5]
DURATION = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKENS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]

CHAT = {"provider": "openai", "model": "gpt-4o", "route": "/chat", "tenant": "acme"}
SUMMARIZE = {"provider": "anthropic", "model": "claude-3", "route": "/summarize", "tenant": ""}


def chat_records(make_stream):
    base = {"provider": "openai", "request_model": "gpt-4o-latest", "response_model": "gpt-4o", "route": "/chat",
            "tenant": "acme"}
    return [
        make_stream(**base, ttft_s=0.003, tpot_s=0.02, duration_s=1.5, input_tokens=12, output_tokens=300,
                    outcome="completed", stall_count=0, cost_usd=0.01, retried_after_partial=False),
        make_stream(**base, ttft_s=0.05, tpot_s=0.06, duration_s=3.0, input_tokens=900, output_tokens=50,
                    outcome="completed", stall_count=2, cost_usd=0.02),
        make_stream(**base, ttft_s=0.05, duration_s=0.3, outcome="truncated", truncation_reason="length",
                    output_tokens=4096),
        make_stream(**base, ttft_s=1.2, outcome="aborted", stall_count=3, retried_after_partial=True),
        make_stream(**base, ttft_s=12.0, outcome="completed"),
        make_stream(**base),  # everything unknown: counted as a stream, observed nowhere else
    ]


def summarize_records(make_stream):
    base = {"provider": "anthropic", "request_model": "claude-3", "route": "/summarize"}  # tenant unknown
    return [make_stream(**base, ttft_s=0.3, tpot_s=0.2, duration_s=90.0, outcome="error", cost_usd=0.5),
            make_stream(**base, ttft_s=0.07, outcome="truncated")]


def assert_histogram(samples, name, labels, values, bounds):
    """Exactly the contract's buckets, with the cumulative counts, _count and _sum that `values` imply."""
    buckets = {float(dict(key)["le"]): count for (sample, key), count in samples.items()
               if sample == f"{name}_bucket" and key - {("le", dict(key)["le"])} == frozenset(labels.items())}
    assert buckets == {bound: sum(v <= bound for v in values) for bound in [*bounds, math.inf]}, (name, labels)
    assert samples[(f"{name}_count", frozenset(labels.items()))] == len(values)
    assert math.isclose(samples[(f"{name}_sum", frozenset(labels.items()))], sum(values))


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


async def test_a_scrape_shows_what_the_records_imply(start_exporter, scrape, samples, make_stream, make_batch):
    exporter = await start_exporter()
    chat, summarize = chat_records(make_stream), summarize_records(make_stream)
    await exporter.consume(make_batch(chat[:3]))
    await exporter.consume(make_batch(chat[3:] + summarize))
    text, content_type = await scrape(exporter)
    assert content_type.startswith("text/plain; version=0.0.4")
    got = samples(text)

    def known(records, field):
        return [getattr(r, field) for r in records if r.HasField(field)]

    for labels, records in ((CHAT, chat), (SUMMARIZE, summarize)):
        assert_histogram(got, "gen_ai_server_time_to_first_token_seconds", labels, known(records, "ttft_s"), TTFT)
        for name, field, bounds in (("gen_ai_server_time_per_output_token_seconds", "tpot_s", TPOT),
                                    ("gen_ai_client_operation_duration_seconds", "duration_s", DURATION)):
            if known(records, field):
                assert_histogram(got, name, labels, known(records, field), bounds)
    for token_type in ("input", "output"):
        assert_histogram(got, "gen_ai_client_token_usage", {**CHAT, "gen_ai_token_type": token_type},
                         known(chat, f"{token_type}_tokens"), TOKENS)
    # No token counts were known for /summarize: no series at all, rather than a zero.
    assert not any(name.startswith("gen_ai_client_token_usage") and ("route", "/summarize") in labels
                   for name, labels in got)

    assert value(got, "llm_streams_total", **CHAT, outcome="completed") == 3
    assert value(got, "llm_streams_total", **CHAT, outcome="truncated") == 1
    assert value(got, "llm_streams_total", **CHAT, outcome="aborted") == 1
    assert value(got, "llm_streams_total", **CHAT, outcome="") == 1
    assert value(got, "llm_streams_total", **SUMMARIZE, outcome="error") == 1
    assert value(got, "llm_stream_stalls_total", **CHAT) == 5
    assert value(got, "llm_stream_stalls_total", **SUMMARIZE) is None
    assert value(got, "llm_stream_truncations_total", **CHAT, reason="length") == 1
    assert value(got, "llm_stream_truncations_total", **SUMMARIZE, reason="") == 1
    assert value(got, "llm_stream_retries_after_first_chunk_total", **CHAT) == 1
    assert math.isclose(value(got, "llm_stream_cost_usd_total", **CHAT), 0.03)
    assert math.isclose(value(got, "llm_stream_cost_usd_total", **SUMMARIZE), 0.5)
    # tokenstream's own metrics are on the same page.
    assert value(got, "tokenstream_exporter_sent_records_total", exporter="prometheus", kind="streams") == 8


async def test_namespace_and_const_labels_apply_to_stream_metrics_only(start_exporter, scrape, samples,
                                                                       make_stream, make_batch):
    exporter = await start_exporter(namespace="llmops", const_labels={"cluster": "eu-1"})
    await exporter.consume(make_batch([make_stream(provider="openai", ttft_s=0.2, outcome="completed")]))
    got = samples((await scrape(exporter))[0])
    labels = {"cluster": "eu-1", "provider": "openai", "model": "", "route": "", "tenant": ""}
    assert value(got, "llmops_gen_ai_server_time_to_first_token_seconds_count", **labels) == 1
    assert value(got, "llmops_llm_streams_total", **labels, outcome="completed") == 1
    assert not any(name.startswith("gen_ai_") or name.startswith("llm_") for name, _ in got)
    assert value(got, "tokenstream_exporter_sent_records_total", exporter="prometheus", kind="streams") == 1


async def test_openmetrics_when_the_scraper_asks_for_it(start_exporter, scrape, make_stream, make_batch):
    exporter = await start_exporter()
    await exporter.consume(make_batch([make_stream(route="/chat", ttft_s=0.02, outcome="completed")]))
    text, content_type = await scrape(exporter, accept="application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    families = {f.name: f for f in parse_openmetrics(text)}
    ttft = families["gen_ai_server_time_to_first_token_seconds"]
    assert ttft.type == "histogram"
    assert [s.value for s in ttft.samples if s.name.endswith("_count")] == [1]
    assert "tokenstream_exporter_sent_records" in families


async def test_route_and_tenant_are_the_records_own(start_exporter, scrape, samples, make_stream, make_batch):
    """The stream processor labels a record from the span's attributes (processors::stream::route_keys); the
    exporter writes what the record says, whatever spans travel in the batch."""
    exporter = await start_exporter()
    record = make_stream(provider="openai", route="/from-record", tenant="t-record", ttft_s=0.2)
    await exporter.consume(make_batch([record]))
    got = samples((await scrape(exporter))[0])
    assert value(got, "gen_ai_server_time_to_first_token_seconds_count", provider="openai", model="",
                 route="/from-record", tenant="t-record") == 1
