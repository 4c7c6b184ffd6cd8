"""Anthropic models over the wire: the Messages API (a fake server on 127.0.0.1).

What relayflow sends (model, system prompt, messages, tools, parameters, key and API
version headers) and how it handles what comes back (text, tool use, streamed
deltas, usage and cost, rate limits with retry-after, rejected keys).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from relayflow import errors
from relayflow.agents.runner import ModelAgentRunner
from relayflow.config import ModelPrice, Settings
from relayflow.engine.ports import AgentProfile, AgentRequest
from tests.agents.conftest import SettingsFactory
from tests.support.fake_anthropic import API_KEY, FakeAnthropic, sent_key

CLAUDE = AgentProfile(
    id="t-analyst",
    name="Analyst",
    role="analyst",
    model="anthropic:claude-haiku-4-5",
    system_prompt="Answer in one sentence.",
    parameters={"temperature": 0.3, "max_tokens": 256},
)
WRITER = AgentProfile(id="t-writer", name="Writer", role="writer", model="test:echo")


@pytest.fixture
async def fake_anthropic() -> AsyncIterator[FakeAnthropic]:
    server = FakeAnthropic()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def anthropic_settings(make_settings: SettingsFactory, fake_anthropic: FakeAnthropic) -> Settings:
    return make_settings(
        anthropic_api_key=API_KEY,
        anthropic_base_url=fake_anthropic.base_url,
        prices={"anthropic:claude-haiku-4-5": ModelPrice(input=3.0, output=15.0)},
    )


@pytest.fixture
async def runner(anthropic_settings: Settings) -> AsyncIterator[ModelAgentRunner]:
    agent_runner = ModelAgentRunner(anthropic_settings)
    yield agent_runner
    await agent_runner.aclose()


def ask(prompt: str = "Why is the sky blue?", **kw: Any) -> AgentRequest:
    return AgentRequest(node_id="n1", profile=CLAUDE, prompt=prompt, **kw)


def text_of(blocks: Any) -> str:
    if isinstance(blocks, str):
        return blocks
    return "".join(block.get("text", "") for block in blocks)


async def test_a_text_answer_sends_model_system_prompt_parameters_and_key(
    runner: ModelAgentRunner, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reply_text("Rayleigh scattering.", input_tokens=40, output_tokens=6)
    result = await runner.run(ask())

    assert result.output == "Rayleigh scattering."
    assert (result.usage.input_tokens, result.usage.output_tokens) == (40, 6)
    assert result.cost_usd == pytest.approx((40 * 3.0 + 6 * 15.0) / 1e6)
    [sent] = fake_anthropic.requests
    assert sent_key(sent.headers) == API_KEY
    assert sent.headers["anthropic-version"]
    body = sent.json()
    assert body["model"] == "claude-haiku-4-5"
    assert body["max_tokens"] == 256
    assert body["temperature"] == 0.3
    system = text_of(body["system"])
    assert "Your name is Analyst. Your role: analyst." in system
    assert "Answer in one sentence." in system
    [message] = body["messages"]
    assert message["role"] == "user"
    assert text_of(message["content"]) == "Why is the sky blue?"
    assert "tools" not in body or body["tools"] == []


async def test_tool_use_runs_the_tool_and_sends_its_result_back(
    runner: ModelAgentRunner, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reply_tool_use(("ask_writer", {"question": "Draft a haiku about rain"}))
    fake_anthropic.reply_text("Here is the haiku.")
    result = await runner.run(ask("Get me a haiku", delegates=(WRITER,)))

    assert result.output == "Here is the haiku."
    first, second = fake_anthropic.bodies
    [tool] = first["tools"]
    assert tool["name"] == "ask_writer"
    assert tool["input_schema"]["required"] == ["question"]
    assert tool["description"]
    # The second request carries the assistant's tool_use and the tool's result.
    assistant, results = second["messages"][-2:]
    assert assistant["role"] == "assistant"
    assert [b["type"] for b in assistant["content"]] == ["tool_use"]
    [tool_result] = results["content"]
    assert tool_result["type"] == "tool_result"
    assert tool_result["tool_use_id"] == assistant["content"][0]["id"]
    assert "[writer] echo: Draft a haiku about rain" in text_of(tool_result["content"])
    [call] = result.tool_calls
    assert (call["tool"], call["status"]) == ("ask_writer", "completed")


async def test_a_streamed_answer_arrives_as_deltas_with_its_usage(
    runner: ModelAgentRunner, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reply_text("Light scatters off small molecules.", output_tokens=9)
    deltas: list[str] = []

    async def sink(kind: str, payload: Mapping[str, Any]) -> None:
        if kind == "agent.delta":
            deltas.append(payload["delta"])

    result = await runner.run(ask(on_event=sink))
    assert fake_anthropic.bodies[0]["stream"] is True
    assert len(deltas) > 1
    assert "".join(deltas) == result.output == "Light scatters off small molecules."
    assert (result.usage.input_tokens, result.usage.output_tokens) == (13, 9)


async def test_a_rate_limit_is_transient_and_keeps_retry_after(
    runner: ModelAgentRunner, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reply_error(429, "Number of requests exceeded", headers={"retry-after": "7"})
    with pytest.raises(errors.TransientAgentError) as raised:
        await runner.run(ask())
    assert raised.value.retry_after == 7
    assert "rate limited" in raised.value.message
    assert len(fake_anthropic.requests) == 1  # the SDK's own retries are off


async def test_an_overloaded_provider_is_transient(
    runner: ModelAgentRunner, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reply_error(529, "Overloaded")
    with pytest.raises(errors.TransientAgentError):
        await runner.run(ask())


async def test_a_rejected_key_names_the_setting(
    make_settings: SettingsFactory, fake_anthropic: FakeAnthropic
) -> None:
    settings = make_settings(
        anthropic_api_key="sk-ant-wrong", anthropic_base_url=fake_anthropic.base_url
    )
    agent_runner = ModelAgentRunner(settings)
    try:
        with pytest.raises(errors.NodeFailed) as raised:
            await agent_runner.run(ask())
    finally:
        await agent_runner.aclose()
    assert "RELAYFLOW_ANTHROPIC_API_KEY" in raised.value.message
    assert "sk-ant-wrong" not in raised.value.message
