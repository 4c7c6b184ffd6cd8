"""A pydantic-ai model whose every request (streamed or not) is a model-call span.

Wraps the model only while tracing is on (`telemetry.tracing.active_tracer()`); the span
carries the request's model, the tokens the provider reported and their cost
(`telemetry.model_calls`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext
from pydantic_ai.usage import RequestUsage

from relayflow.telemetry.model_calls import ModelCallSpan, model_call_span

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

# (input tokens, output tokens) -> US dollars, for this model's price.
CostOf = Callable[[int, int], float]


class TracedModel(WrapperModel):
    def __init__(
        self,
        wrapped: Any,
        *,
        tracer: Tracer,
        provider: str,
        model_name: str,
        agent: str,
        cost_of: CostOf,
    ) -> None:
        super().__init__(wrapped)
        self.tracer = tracer
        self.traced_provider = provider
        self.traced_model_name = model_name
        self.agent_name = agent
        self.cost_of = cost_of

    def _span(self) -> Any:
        return model_call_span(
            self.tracer,
            provider=self.traced_provider,
            model=self.traced_model_name,
            agent=self.agent_name,
        )

    def _finish(self, span: ModelCallSpan, usage: RequestUsage, model_name: str | None) -> None:
        span.finished(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=self.cost_of(usage.input_tokens, usage.output_tokens),
            response_model=model_name,
        )

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        with self._span() as span:
            response = await self.wrapped.request(
                messages, model_settings, model_request_parameters
            )
            self._finish(span, response.usage, response.model_name)
            return response

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncGenerator[StreamedResponse]:
        with self._span() as span:
            async with self.wrapped.request_stream(
                messages, model_settings, model_request_parameters, run_context
            ) as stream:
                yield stream
            self._finish(span, stream.usage, stream.model_name)
