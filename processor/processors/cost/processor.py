"""cost: `cost_usd` from the configured price table, when input and output tokens are known.

The price is looked up by provider and response model, then request model, then `provider/*`.
"""

from __future__ import annotations

from processor.component import ComponentBase, Consumer, CreateSettings
from processor.model.batch import Batch
from processor.model.records import StreamRecord
from processor.processors.cost.config import CostConfig, Price
from processor.stream.enrich import PREFIX, enrich
from processor.stream.work import works


class CostProcessor(ComponentBase):
    mutates_data = True

    def __init__(self, settings: CreateSettings, config: CostConfig, next_consumer: Consumer) -> None:
        self.next = next_consumer
        self.prices = config.prices

    async def consume(self, batch: Batch) -> None:
        for work in works(batch):
            cost = cost_usd(work.record, self.prices)
            if cost is None:
                continue
            work.record.cost_usd = cost
            if not work.final:
                enrich(batch, work, {PREFIX + "cost_usd": cost})
        await self.next.consume(batch)


def price_for(record: StreamRecord, prices: dict[str, Price]) -> Price | None:
    provider = record.provider if record.HasField("provider") else ""
    for field in ("response_model", "request_model"):
        if record.HasField(field):
            price = prices.get(f"{provider}/{getattr(record, field)}")
            if price is not None:
                return price
    return prices.get(f"{provider}/*")


def cost_usd(record: StreamRecord, prices: dict[str, Price]) -> float | None:
    if not (record.HasField("input_tokens") and record.HasField("output_tokens")):
        return None
    price = price_for(record, prices)
    if price is None:
        return None
    return (record.input_tokens * price.input_per_million + record.output_tokens * price.output_per_million) / 1e6
