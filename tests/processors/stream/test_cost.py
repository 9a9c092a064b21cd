from __future__ import annotations

import pytest
from pydantic import ValidationError

from processor.processors.cost.config import CostConfig
from processor.processors.cost.processor import CostProcessor
from processor.testing import SinkConsumer
from tests.stream.builders import llm_span, make_call, traces
from tests.stream.pipeline import final_batch, receipt_batch, settings_for

PRICES = {"openai/gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.6},
          "openai/*": {"input_per_million": 2.5, "output_per_million": 10}}


def _with_tokens(span_id: bytes, model: str, input_tokens: int | None, output_tokens: int | None):
    call = make_call(span_id, model=model, output_tokens=output_tokens)
    if input_tokens is not None:
        call.record.input_tokens = input_tokens
    return call


async def test_cost_from_the_model_price_or_the_provider_wildcard_and_none_without_tokens():
    sink = SinkConsumer()
    await CostProcessor(settings_for("cost"), CostConfig(prices=PRICES), sink).consume(final_batch(
        _with_tokens(b"\x01" * 8, "gpt-4o-mini", 1_000_000, 2_000_000),
        _with_tokens(b"\x02" * 8, "gpt-4o", 1000, 100),
        _with_tokens(b"\x03" * 8, "gpt-4o-mini", None, 10)))
    costs = [r.cost_usd if r.HasField("cost_usd") else None for r in sink.streams]
    assert costs == [pytest.approx(1.35), pytest.approx(0.0035), None]


async def test_the_span_gets_its_cost():
    sink = SinkConsumer()
    request = traces(llm_span(b"\x01" * 8))
    call = _with_tokens(b"\x01" * 8, "gpt-4o-mini", 19, 12)
    await CostProcessor(settings_for("cost"), CostConfig(prices=PRICES), sink).consume(receipt_batch(request, call))
    attrs = {kv.key: kv.value for kv in sink.spans()[0].attributes}
    assert attrs["tokenstream.cost_usd"].double_value == pytest.approx((19 * 0.15 + 12 * 0.6) / 1e6)


def test_a_price_key_without_a_provider_is_refused():
    with pytest.raises(ValidationError, match="provider/model"):
        CostConfig(prices={"gpt-4o-mini": {"input_per_million": 1, "output_per_million": 1}})
