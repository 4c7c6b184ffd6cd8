"""Ollama models over the wire: its OpenAI-compatible API (a fake server on 127.0.0.1).

What relayflow sends (model, system prompt, messages, tools; no provider key) and how
it handles what comes back (text, tool calls, usage, a model never pulled, 429).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from relayflow import errors
from relayflow.agents.runner import ModelAgentRunner
from relayflow.config import Settings
from relayflow.engine.ports import AgentProfile, AgentRequest
from tests.agents.conftest import SettingsFactory
from tests.support.fake_ollama import FakeOllama

LLAMA = AgentProfile(
    id="t-local",
    name="Local",
    role="summarizer",
    model="ollama:llama3.2",
    system_prompt="Be brief.",
    parameters={"temperature": 0.1, "max_tokens": 128},
)
WRITER = AgentProfile(id="t-writer", name="Writer", role="writer", model="test:echo")
OPENAI_KEY = "sk-openai-must-not-reach-ollama"


@pytest.fixture
async def fake_ollama() -> AsyncIterator[FakeOllama]:
    server = FakeOllama(models=["llama3.2"])
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def ollama_settings(make_settings: SettingsFactory, fake_ollama: FakeOllama) -> Settings:
    # An OpenAI key is configured too: it must never be sent to the Ollama server.
    return make_settings(ollama_base_url=fake_ollama.base_url, openai_api_key=OPENAI_KEY)


@pytest.fixture
async def runner(ollama_settings: Settings) -> AsyncIterator[ModelAgentRunner]:
    agent_runner = ModelAgentRunner(ollama_settings)
    yield agent_runner
    await agent_runner.aclose()


def ask(profile: AgentProfile = LLAMA, prompt: str = "Summarize: tides", **kw: Any) -> AgentRequest:
    return AgentRequest(node_id="n1", profile=profile, prompt=prompt, **kw)


async def test_a_text_answer_sends_model_messages_and_no_provider_key(
    runner: ModelAgentRunner, fake_ollama: FakeOllama
) -> None:
    fake_ollama.reply_text("The moon pulls the sea.", input_tokens=21, output_tokens=6)
    result = await runner.run(ask())

    assert result.output == "The moon pulls the sea."
    assert (result.usage.input_tokens, result.usage.output_tokens) == (21, 6)
    [sent] = fake_ollama.requests
    assert OPENAI_KEY not in sent.headers.get("authorization", "")
    body = sent.json()
    assert body["model"] == "llama3.2"
    assert body["temperature"] == 0.1
    assert 128 in (body.get("max_tokens"), body.get("max_completion_tokens"))
    system, user = body["messages"]
    assert system["role"] == "system"
    assert "Your role: summarizer." in system["content"]
    assert "Be brief." in system["content"]
    assert user == {"role": "user", "content": "Summarize: tides"}


async def test_tool_calls_run_and_their_results_go_back(
    runner: ModelAgentRunner, fake_ollama: FakeOllama
) -> None:
    fake_ollama.reply_tool_calls(("ask_writer", {"question": "One line on tides"}))
    fake_ollama.reply_text("Done.")
    result = await runner.run(ask(delegates=(WRITER,)))

    assert result.output == "Done."
    first, second = fake_ollama.bodies
    assert [t["function"]["name"] for t in first["tools"]] == ["ask_writer"]
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": "[writer] echo: One line on tides",
    }


async def test_a_model_that_was_never_pulled_fails_with_ollamas_message(
    runner: ModelAgentRunner, fake_ollama: FakeOllama
) -> None:
    missing = AgentProfile(id=None, name="Big", role="assistant", model="ollama:llama3.3:70b")
    with pytest.raises(errors.NodeFailed) as raised:
        await runner.run(ask(missing))
    assert "ollama:llama3.3:70b" in raised.value.message
    assert "try pulling it first" in raised.value.message
    assert len(fake_ollama.requests) == 1


async def test_a_busy_server_is_transient_with_retry_after(
    runner: ModelAgentRunner, fake_ollama: FakeOllama
) -> None:
    fake_ollama.reply_error(429, "server busy", headers={"Retry-After": "3"})
    with pytest.raises(errors.TransientAgentError) as raised:
        await runner.run(ask())
    assert raised.value.retry_after == 3
