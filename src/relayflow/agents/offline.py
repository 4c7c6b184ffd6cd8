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
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
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

from relayflow import errors
from relayflow.agents.json_examples import minimal_instance

PROVIDER = "test"
REQUEST_OVERHEAD_TOKENS = 50  # what a chat request costs beyond its text, roughly
MAX_FLAKY_KEYS = 10_000
NO_SUCH_TOOL = "no such tool"

_TOKEN = re.compile(r"\w+|[^\w\s]")
_ASK = re.compile(r"^\s*@ask\s+([^:]+?)\s*:\s*(.+?)\s*$")
_TOOL = re.compile(r"^\s*@tool\s+([\w.-]+)\s*(.*?)\s*$")
_JSON = re.compile(r"^\s*@json\s+(.+?)\s*$")
_SLEEP = re.compile(r"^sleep-(\d+)$")
_FLAKY = re.compile(r"^flaky-(\d+)$")

# Requests seen per (model, prompt) by `flaky-<n>` models in this process.
_flaky_attempts: dict[tuple[str, str], int] = {}


# ----------------------------------------------------------------- model names
@dataclass(frozen=True)
class OfflineBehaviour:
    name: str
    sleep_s: float = 0.0
    always_fail: bool = False
    fail_first: int = 0


def behaviour_for(name: str) -> OfflineBehaviour:
    """What `test:<name>` does; unknown names fail with the list of known ones."""
    if name == "echo":
        return OfflineBehaviour(name)
    if name == "fail":
        return OfflineBehaviour(name, always_fail=True)
    if match := _SLEEP.match(name):
        return OfflineBehaviour(name, sleep_s=int(match.group(1)) / 1000)
    if match := _FLAKY.match(name):
        return OfflineBehaviour(name, fail_first=int(match.group(1)))
    raise errors.InvalidInput(
        f"unknown offline model 'test:{name}': use test:echo, test:sleep-<ms>, "
        "test:fail or test:flaky-<n>"
    )


# ----------------------------------------------------------------- the answer
@dataclass(frozen=True)
class Directive:
    tool: str
    args: dict[str, Any]


def estimate_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def split_prompt(prompt: str) -> tuple[str, list[Directive], Any]:
    """The prompt without directive lines, its tool directives, and its `@json` value."""
    kept: list[str] = []
    directives: list[Directive] = []
    json_answer: Any = None
    for line in prompt.splitlines():
        if match := _ASK.match(line):
            directives.append(
                Directive(f"ask_{tool_slug(match.group(1))}", {"question": match.group(2)})
            )
        elif match := _TOOL.match(line):
            directives.append(Directive(match.group(1), _json_object(match.group(2))))
        elif match := _JSON.match(line):
            json_answer = _json_value(match.group(1))
        else:
            kept.append(line)
    return "\n".join(kept).strip(), directives, json_answer


def tool_slug(name: str) -> str:
    """A tool-name-safe version of an agent name: `Senior Writer` -> `senior_writer`."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug or "agent"


def echo_text(role: str, prompt: str) -> str:
    return f"[{role}] echo: {prompt}"


def _json_object(text: str) -> dict[str, Any]:
    value = _json_value(text) if text else {}
    return value if isinstance(value, dict) else {"input": value}


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def answer_with_results(role: str, prompt: str, results: Sequence[tuple[str, str]]) -> str:
    lines = [echo_text(role, prompt)]
    lines += [f"{tool} -> {result}" for tool, result in results]
    return "\n".join(lines)


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


# ----------------------------------------------------------------- direct answers
@dataclass(frozen=True)
class DirectAnswer:
    text: str
    input_tokens: int
    output_tokens: int


async def answer_directly(
    model: str, *, role: str, system_prompt: str | None, prompt: str
) -> DirectAnswer:
    """A plain-text answer without the agent loop (no tools, no schema).

    The same text the agent path gives, in a fraction of the time: the runner uses
    it for tool-less offline requests so benchmarks measure relayflow itself.
    """
    _, name = model.split(":", 1)
    behaviour = behaviour_for(name)
    await before_answer(behaviour, name, prompt)
    text, directives, _ = split_prompt(prompt)
    # No tools here: directives get the note the agent path gives for a missing tool.
    answer = answer_with_results(role, text, [(d.tool, NO_SUCH_TOOL) for d in directives])
    used = REQUEST_OVERHEAD_TOKENS + estimate_tokens(prompt) + estimate_tokens(system_prompt or "")
    return DirectAnswer(answer, used, estimate_tokens(answer))


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
