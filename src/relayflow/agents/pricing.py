"""What a model call costs, from the price table in settings.

`settings.prices` maps model strings (`openai:gpt-4o`) to US dollars per million
input and output tokens. A model without a price costs 0: relayflow never
guesses a price it was not given.
"""

from __future__ import annotations

from collections.abc import Mapping

from relayflow.config import ModelPrice
from relayflow.engine.ports import TokenUsage

PER = 1_000_000


def price_for(prices: Mapping[str, ModelPrice], model: str) -> ModelPrice | None:
    """The price of `model`; names match case-insensitively (environment keys are lower-case)."""
    price = prices.get(model)
    if price is not None:
        return price
    wanted = model.lower()
    for name, candidate in prices.items():
        if name.lower() == wanted:
            return candidate
    return None


def cost_usd(prices: Mapping[str, ModelPrice], model: str, usage: TokenUsage) -> float:
    price = price_for(prices, model)
    if price is None:
        return 0.0
    return (usage.input_tokens * price.input + usage.output_tokens * price.output) / PER
