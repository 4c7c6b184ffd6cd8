"""How many model requests may be in flight per provider.

Providers rate-limit per account, so a worker (or a whole installation, with the
runtime's cross-process limiter) caps concurrent requests per provider name
(`openai`, `anthropic`, `ollama`, an endpoint name, `test`). A slot is held for
one model request, not for a whole agent run: an agent waiting for a delegate's
answer holds none, so delegation cannot deadlock on a small limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext

from relayflow.config import Settings

OFFLINE_PROVIDER = "test"


class ProviderLimiter(Protocol):
    def slot(self, provider: str) -> AbstractAsyncContextManager[None]:
        """Wait for, then hold, one request slot for `provider`."""
        ...


class LocalProviderLimiter:
    """Per-process limits: one asyncio semaphore per provider.

    `limits` maps provider names to their cap; others get `default`. Offline
    `test` models are not limited unless `limits` names `test`, so tests and
    benchmarks measure relayflow rather than an artificial cap.
    """

    def __init__(self, limits: Mapping[str, int] | None = None, *, default: int = 8) -> None:
        self._limits = {name.lower(): value for name, value in (limits or {}).items()}
        self._default = default
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalProviderLimiter:
        return cls(settings.provider_concurrency, default=settings.default_provider_concurrency)

    def limit_for(self, provider: str) -> int | None:
        """The cap for `provider`, or None when it is not limited."""
        provider = provider.lower()
        if provider in self._limits:
            return self._limits[provider]
        return None if provider == OFFLINE_PROVIDER else self._default

    @asynccontextmanager
    async def slot(self, provider: str) -> AsyncIterator[None]:
        limit = self.limit_for(provider)
        if limit is None:
            yield
            return
        semaphore = self._semaphores.get(provider.lower())
        if semaphore is None:
            semaphore = self._semaphores[provider.lower()] = asyncio.Semaphore(max(1, limit))
        async with semaphore:
            yield


@dataclass(init=False)
class SlotLimitedModel(WrapperModel):
    """A model whose every request (streamed or not) holds a provider slot."""

    limiter: ProviderLimiter
    limited_provider: str

    def __init__(self, wrapped: Any, *, limiter: ProviderLimiter, provider: str) -> None:
        super().__init__(wrapped)
        self.limiter = limiter
        self.limited_provider = provider

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        async with self.limiter.slot(self.limited_provider):
            return await self.wrapped.request(messages, model_settings, model_request_parameters)

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncGenerator[StreamedResponse]:
        async with (
            self.limiter.slot(self.limited_provider),
            self.wrapped.request_stream(
                messages, model_settings, model_request_parameters, run_context
            ) as stream,
        ):
            yield stream
