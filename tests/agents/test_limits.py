"""Per-provider request slots."""

from __future__ import annotations

import asyncio

from relayflow.agents.limits import LocalProviderLimiter
from relayflow.config import Settings


async def peak_concurrency(limiter: LocalProviderLimiter, provider: str, tasks: int) -> int:
    active = peak = 0

    async def hold() -> None:
        nonlocal active, peak
        async with limiter.slot(provider):
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1

    await asyncio.gather(*(hold() for _ in range(tasks)))
    return peak


async def test_a_named_provider_gets_its_own_cap() -> None:
    limiter = LocalProviderLimiter({"OpenAI": 2}, default=5)
    assert await peak_concurrency(limiter, "openai", 6) == 2
    assert await peak_concurrency(limiter, "anthropic", 8) == 5


async def test_offline_models_are_unlimited_unless_named() -> None:
    assert LocalProviderLimiter(default=1).limit_for("test") is None
    assert await peak_concurrency(LocalProviderLimiter(default=1), "test", 4) == 4
    assert await peak_concurrency(LocalProviderLimiter({"test": 1}), "test", 4) == 1


def test_limits_come_from_settings() -> None:
    settings = Settings(provider_concurrency={"ollama": 1}, default_provider_concurrency=3)
    limiter = LocalProviderLimiter.from_settings(settings)
    assert limiter.limit_for("ollama") == 1
    assert limiter.limit_for("openai") == 3
