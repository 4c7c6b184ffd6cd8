"""Cost from the price table."""

from __future__ import annotations

import pytest

from relayflow.agents.pricing import cost_usd
from relayflow.config import ModelPrice
from relayflow.engine.ports import TokenUsage

PRICES = {"openai:gpt-4o": ModelPrice(input=2.5, output=10.0)}


def test_cost_is_per_million_input_and_output_tokens() -> None:
    usage = TokenUsage(input_tokens=200_000, output_tokens=50_000)
    assert cost_usd(PRICES, "openai:gpt-4o", usage) == pytest.approx(0.5 + 0.5)


def test_model_names_match_case_insensitively() -> None:
    usage = TokenUsage(input_tokens=1_000_000)
    assert cost_usd(PRICES, "OpenAI:GPT-4o", usage) == pytest.approx(2.5)


def test_a_model_without_a_price_costs_nothing() -> None:
    assert cost_usd(PRICES, "ollama:llama3.2", TokenUsage(10**9, 10**9)) == 0.0
