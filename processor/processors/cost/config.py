from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from processor.config.models import ComponentConfig


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


class CostConfig(ComponentConfig):
    #: `provider/model` -> USD per million input and output tokens; `provider/*` prices every other model.
    prices: dict[str, Price] = Field(default_factory=dict)

    @field_validator("prices")
    @classmethod
    def _keys_name_a_provider(cls, prices: dict[str, Price]) -> dict[str, Price]:
        bad = [key for key in prices if "/" not in key or key.startswith("/") or key.endswith("/")]
        if bad:
            raise ValueError(f"price keys must be provider/model (e.g. openai/gpt-4o-mini or openai/*): {bad}")
        return prices
