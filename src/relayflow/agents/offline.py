"""Offline models (`test:...`): deterministic answers with no network, for the demo and tests.

Models:
- `test:echo` answers `[<role>] echo: <prompt>`.
- `test:sleep-<ms>` answers like echo after sleeping `<ms>` milliseconds per model
  request (e.g. `test:sleep-200`), to make nodes that take time.
- `test:fail` fails every request the way a provider rejecting it does (a
  permanent error: the node fails with that message).
- `test:flaky-<n>` fails the first `<n>` requests for a given prompt in this
  process with a 503 (a transient error, so node retries apply), then echoes.

Directives: a prompt line of one of these forms makes the model call a tool on
its first turn, then answer with the echo followed by one `tool -> result` line
per call, so a demo shows delegation:

    @ask writer: draft a haiku about rain      (calls ask_writer {"question": ...})
    @tool fetch_page {"url": "https://example.com"}
    @json {"category": "billing"}              (the structured answer, see below)

Structured output: when the agent must answer with JSON (an output schema), the
answer is the `@json` object if the prompt has one, else a minimal instance of
the schema: required and declared properties, strings holding the echo text
(within length limits), the first enum value that appears in the prompt (else
the first), numbers at their minimum.

Token usage is estimated from words and punctuation, like pydantic-ai's own test
models, so usage and cost figures are plausible.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic_ai.exceptions import (
    ModelHTTPError,
    ModelRequestRejectedError,
    ModelUnavailableError,
)
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from pydantic_ai.usage import RequestUsage

from relayflow.agents.json_examples import minimal_instance
from relayflow.agents.offline_text import (
    NO_SUCH_TOOL,
    REQUEST_OVERHEAD_TOKENS,
    DirectAnswer,
    OfflineBehaviour,
    answer_with_results,
    behaviour_for,
    estimate_tokens,
    plain_answer,
    split_prompt,
)
from relayflow.agents.offline_text import (
    PROVIDER as PROVIDER,
)
from relayflow.agents.offline_text import (
    Directive as Directive,
)
from relayflow.agents.offline_text import (
    echo_text as echo_text,
)
from relayflow.agents.offline_text import (
    tool_slug as tool_slug,
)

MAX_FLAKY_KEYS = 10_000

# Names other modules read from here (`offline.PROVIDER`, ...) are re-exported above.
# Requests seen per (model, prompt) by `flaky-<n>` models in this process.
_flaky_attempts: dict[tuple[str, str], int] = {}


async def before_answer(behaviour: OfflineBehaviour, model_name: str, prompt: str) -> None:
    """Sleep or fail as the model's name says, before any answer."""
    if behaviour.sleep_s:
        await asyncio.sleep(behaviour.sleep_s)
    if behaviour.always_fail:
        raise ModelHTTPError.for_category(
            ModelRequestRejectedError,
            status_code=400,
            model_name=model_name,
            body={"error": {"message": "test:fail always fails"}},
        )
    if behaviour.fail_first:
        key = (behaviour.name, prompt)
        if len(_flaky_attempts) > MAX_FLAKY_KEYS:
            _flaky_attempts.clear()
        seen = _flaky_attempts[key] = _flaky_attempts.get(key, 0) + 1
        if seen <= behaviour.fail_first:
            raise ModelHTTPError.for_category(
                ModelUnavailableError,
                status_code=503,
                model_name=model_name,
                body={"error": {"message": f"flaky failure {seen} of {behaviour.fail_first}"}},
                headers={"retry-after": "0"},
            )


async def answer_directly(
    model: str, *, role: str, system_prompt: str | None, prompt: str
) -> DirectAnswer:
    """A plain-text answer without the agent loop (no tools, no schema).

    The same text the agent path gives, in a fraction of the time: the runner uses
    it for tool-less offline requests so benchmarks measure relayflow itself.
    """
    _, name = model.split(":", 1)
    await before_answer(behaviour_for(name), name, prompt)
    return plain_answer(model, role=role, system_prompt=system_prompt, prompt=prompt)


# ----------------------------------------------------------------- the pydantic-ai model
class OfflineModelLogic:
    """The function behind an offline FunctionModel: one model turn from the messages."""

    def __init__(self, behaviour: OfflineBehaviour, *, role: str) -> None:
        self.behaviour = behaviour
        self.role = role

    async def respond(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = _first_user_prompt(messages)
        await before_answer(self.behaviour, self.behaviour.name, prompt)
        response = self._decide(messages, info, prompt)
        response.usage = RequestUsage(
            input_tokens=_request_tokens(messages),
            output_tokens=sum(_part_tokens(p) for p in response.parts),
        )
        return response

    async def stream(
        self, messages: list[ModelMessage], info: AgentInfo
    ) -> AsyncIterator[str | DeltaToolCalls]:
        prompt = _first_user_prompt(messages)
        await before_answer(self.behaviour, self.behaviour.name, prompt)
        response = self._decide(messages, info, prompt)
        calls = [p for p in response.parts if isinstance(p, ToolCallPart)]
        if calls:
            yield {
                index: DeltaToolCall(name=call.tool_name, json_args=call.args_as_json_str())
                for index, call in enumerate(calls)
            }
            return
        text = "".join(p.content for p in response.parts if isinstance(p, TextPart))
        for word in re.findall(r"\S+\s*|\s+", text):
            yield word

    def _decide(self, messages: list[ModelMessage], info: AgentInfo, prompt: str) -> ModelResponse:
        text, directives, json_answer = split_prompt(prompt)
        tools = {t.name for t in info.function_tools}
        first_turn = not any(isinstance(m, ModelResponse) for m in messages)
        if first_turn:
            calls = [d for d in directives if d.tool in tools]
            if calls:
                return ModelResponse(
                    parts=[
                        ToolCallPart(d.tool, d.args, tool_call_id=f"call_{i}")
                        for i, d in enumerate(calls)
                    ]
                )
        results = _tool_results(messages)
        missing = [d.tool for d in directives if d.tool not in tools]
        results += [(name, NO_SUCH_TOOL) for name in missing]
        answer = answer_with_results(self.role, text, results)
        if info.output_tools and not info.allow_text_output:
            output_tool = info.output_tools[0]
            schema = output_tool.parameters_json_schema
            value = json_answer if isinstance(json_answer, dict) else None
            if value is None:
                value = minimal_instance(schema, text=answer, prompt=prompt)
            return ModelResponse(parts=[ToolCallPart(output_tool.name, value, tool_call_id="out")])
        return ModelResponse(parts=[TextPart(answer)])


def offline_model(model_name: str, *, role: str) -> FunctionModel:
    """The pydantic-ai model for `test:<model_name>`."""
    logic = OfflineModelLogic(behaviour_for(model_name), role=role)
    return FunctionModel(logic.respond, stream_function=logic.stream, model_name=model_name)


def _first_user_prompt(messages: Sequence[ModelMessage]) -> str:
    for message in messages:
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


def _tool_results(messages: Sequence[ModelMessage]) -> list[tuple[str, str]]:
    results: list[tuple[str, str]] = []
    for message in messages:
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, ToolReturnPart):
                    results.append((part.tool_name, part.model_response_str()))
                elif isinstance(part, RetryPromptPart) and part.tool_name:
                    results.append((part.tool_name, f"error: {part.model_response()}"))
    return results


def _request_tokens(messages: Sequence[ModelMessage]) -> int:
    total = REQUEST_OVERHEAD_TOKENS
    for message in messages:
        for part in message.parts:
            total += _part_tokens(part)
    return total


def _part_tokens(part: Any) -> int:
    if isinstance(part, SystemPromptPart | UserPromptPart | TextPart):
        return estimate_tokens(part.content) if isinstance(part.content, str) else 0
    if isinstance(part, ToolReturnPart):
        return estimate_tokens(part.model_response_str())
    if isinstance(part, ToolCallPart):
        return 1 + estimate_tokens(part.args_as_json_str())
    return 0
