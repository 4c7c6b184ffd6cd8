"""One span per model call, named and attributed by OpenTelemetry's GenAI conventions.

`chat <model>` (kind CLIENT) with `gen_ai.operation.name`, `gen_ai.provider.name` (and
the older `gen_ai.system`), `gen_ai.request.model`, `gen_ai.response.model`,
`gen_ai.usage.input_tokens` / `output_tokens`, plus `relayflow.agent` and the call's
cost in `relayflow.cost_usd`. The span is current while the call runs, so it nests
under the node that made it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer


@dataclass
class ModelCallSpan:
    """Lets the caller add what it learns when the call returns."""

    span: Span

    def finished(
        self,
        *,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
        response_model: str | None = None,
    ) -> None:
        self.span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
        self.span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
        self.span.set_attribute("relayflow.cost_usd", cost_usd)
        if response_model:
            self.span.set_attribute("gen_ai.response.model", response_model)


@contextmanager
def model_call_span(
    tracer: Tracer, *, provider: str, model: str, agent: str
) -> Iterator[ModelCallSpan]:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "gen_ai.request.model": model,
        "relayflow.agent": agent,
    }
    with tracer.start_as_current_span(
        f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes, record_exception=False
    ) as span:
        try:
            yield ModelCallSpan(span)
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))
            raise
