"""The stream processor's `cost` section: cost_usd on the record and the span, from the price table."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from processor.model.batch import Batch, Signal
from processor.processors.stream.config import StreamConfig
from processor.testing import SinkConsumer
from tests.stream.builders import MS, T0, llm_span, traces
from tests.stream.pipeline import stream

PRICES = {"openai/gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6},
          "openai/*": {"input_per_million": 2.5, "output_per_million": 10}}
ONLY = {"cadence": False, "retries": False, "truncation": False, "content_check": False}


def _span(n: int, model: str, input_tokens: int | None, output_tokens: int | None):
    tokens = {k: v for k, v in (("input_tokens", input_tokens), ("output_tokens", output_tokens)) if v is not None}
    return llm_span(bytes([n]) * 8, start=T0 + n * MS, model=model, **tokens)


async def test_cost_from_the_model_price_or_the_provider_wildcard_and_none_without_tokens():
    sink = SinkConsumer()
    processor = stream(sink, cost={"prices": PRICES}, **ONLY)
    await processor.consume(Batch(Signal.TRACES, traces(_span(1, "gpt-4o-mini", 1_000_000, 2_000_000),
                                                        _span(2, "gpt-4o", 1000, 100),
                                                        _span(3, "gpt-4o-mini", None, 10))))
    await processor.shutdown()
    costs = [r.cost_usd if r.HasField("cost_usd") else None for r in sink.streams]
    assert costs == [pytest.approx(1.35), pytest.approx(0.0035), None]


async def test_the_span_gets_its_cost():
    sink = SinkConsumer()
    await stream(sink, cost={"prices": PRICES}, **ONLY).consume(
        Batch(Signal.TRACES, traces(_span(1, "gpt-4o-mini", 19, 12))))
    attrs = {kv.key: kv.value for kv in sink.spans()[0].attributes}
    assert attrs["tokenstream.cost_usd"].double_value == pytest.approx((19 * 0.15 + 12 * 0.6) / 1e6)


def test_a_price_key_without_a_provider_is_refused():
    with pytest.raises(ValidationError, match="provider/model"):
        StreamConfig.model_validate({"cost": {"prices": {"gpt-4o-mini": {"input_per_million": 1,
                                                                         "output_per_million": 1}}}})
