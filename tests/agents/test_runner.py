"""ModelAgentRunner over the wire (the fake OpenAI server) and with offline models."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest

from relayflow import errors
from relayflow.agents.limits import LocalProviderLimiter
from relayflow.agents.runner import ModelAgentRunner
from relayflow.config import Settings
from relayflow.engine.ports import (
    AgentProfile,
    AgentRequest,
    HttpToolSpec,
    SubworkflowToolSpec,
)
from tests.agents.conftest import SettingsFactory
from tests.support.fake_openai import FakeOpenAI
from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply

RESEARCHER = AgentProfile(
    id="t-researcher",
    name="Researcher",
    role="researcher",
    model="openai:gpt-4o-mini",
    system_prompt="Cite your sources.",
    parameters={"temperature": 0.2, "max_tokens": 300, "seed": 7, "output_schema": {}},
)
WRITER = AgentProfile(id="t-writer", name="Writer", role="writer", model="test:echo")
EDITOR = AgentProfile(id="t-editor", name="Editor", role="editor", model="test:echo")
SUPERVISOR = AgentProfile(id="t-boss", name="Boss", role="supervisor", model="test:echo")


@pytest.fixture
async def runner(openai_settings: Settings) -> AsyncIterator[ModelAgentRunner]:
    agent_runner = ModelAgentRunner(openai_settings)
    yield agent_runner
    await agent_runner.aclose()


def request(
    profile: AgentProfile = RESEARCHER, prompt: str = "Find facts", **kw: Any
) -> AgentRequest:
    return AgentRequest(node_id="node-1", profile=profile, prompt=prompt, **kw)


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, kind: str, payload: Mapping[str, Any]) -> None:
        self.items.append((kind, dict(payload)))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [p for k, p in self.items if k == kind]


# ----------------------------------------------------------------- the wire
async def test_system_prompt_parameters_and_usage_go_over_the_wire(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply_text("Paris is the capital.", input_tokens=120, output_tokens=30)
    result = await runner.run(request())

    assert result.output == "Paris is the capital."
    assert result.model == "openai:gpt-4o-mini"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (120, 30)
    [body] = fake_openai.bodies
    assert body["model"] == "gpt-4o-mini"
    system, user = body["messages"]
    assert system["role"] == "system"
    assert "researcher" in system["content"]
    assert "Cite your sources." in system["content"]
    assert user == {"role": "user", "content": "Find facts"}
    assert body["temperature"] == 0.2
    assert body["seed"] == 7
    assert body["max_completion_tokens"] == 300
    assert "output_schema" not in body  # not a model parameter


async def test_cost_comes_from_the_price_table(
    make_settings: SettingsFactory, fake_openai: FakeOpenAI
) -> None:
    from tests.support.fake_openai import API_KEY

    settings = make_settings(
        openai_api_key=API_KEY,
        openai_base_url=fake_openai.base_url,
        prices={"openai:gpt-4o-mini": {"input": 0.15, "output": 0.60}},
    )
    agent_runner = ModelAgentRunner(settings)
    fake_openai.reply_text("ok", input_tokens=1_000_000, output_tokens=500_000)
    try:
        result = await agent_runner.run(request())
    finally:
        await agent_runner.aclose()
    assert result.cost_usd == pytest.approx(0.15 + 0.30)


async def test_answers_stream_as_delta_events(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply_text("one two three", input_tokens=5, output_tokens=3)
    events = Events()
    result = await runner.run(request(on_event=events))

    assert result.output == "one two three"
    deltas = events.of("agent.delta")
    assert "".join(d["delta"] for d in deltas) == "one two three"
    assert len(deltas) >= 3
    assert all(d["node_id"] == "node-1" and d["agent"] == "Researcher" for d in deltas)
    body = fake_openai.bodies[0]
    assert body["stream"] is True
    assert result.usage.input_tokens == 5  # usage arrives in the stream's last chunk


async def test_structured_output_is_validated_and_a_bad_answer_gets_one_retry(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
    }
    fake_openai.reply_tool_calls(("final_answer", {"city": "Paris", "population": "many"}))
    fake_openai.reply_tool_calls(("final_answer", {"city": "Paris", "population": 2100000}))
    result = await runner.run(request(output_schema=schema))

    assert result.output == {"city": "Paris", "population": 2100000}
    first, second = fake_openai.bodies
    [output_tool] = [t for t in first["tools"] if t["function"]["name"] == "final_answer"]
    assert output_tool["function"]["parameters"]["properties"]["population"] == {"type": "integer"}
    feedback = second["messages"][-1]
    assert feedback["role"] == "tool"
    assert "population" in feedback["content"]
    assert "not of type 'integer'" in feedback["content"]


async def test_structured_output_while_streaming(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    # The runtime always passes an event sink, so this is the usual production path.
    schema = {"type": "object", "properties": {"label": {"enum": ["spam", "ham"]}}}
    fake_openai.reply_tool_calls(("final_answer", {"label": "ham"}), input_tokens=9)
    result = await runner.run(request(output_schema=schema, on_event=Events()))
    assert result.output == {"label": "ham"}
    assert fake_openai.bodies[0]["stream"] is True
    assert result.usage.input_tokens == 9


async def test_an_answer_that_never_matches_the_schema_fails_the_node(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    for _ in range(3):
        fake_openai.reply_tool_calls(("final_answer", {"n": "x"}))
    with pytest.raises(errors.NodeFailed, match="openai:gpt-4o-mini answered unexpectedly"):
        await runner.run(request(output_schema=schema))


async def test_a_list_schema_is_wrapped_for_the_model_and_unwrapped(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    fake_openai.reply_tool_calls(("final_answer", {"result": ["a", "b"]}))
    result = await runner.run(request(output_schema=schema))
    assert result.output == ["a", "b"]


async def test_an_invalid_output_schema_names_the_agent_and_field(runner: ModelAgentRunner) -> None:
    with pytest.raises(errors.InvalidInput, match="'Researcher': output_schema is not a valid"):
        await runner.run(request(output_schema={"type": "banana"}))


# ----------------------------------------------------------------- provider errors
async def test_429_is_transient_with_retry_after_and_is_not_retried_by_the_sdk(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply_error(429, "Rate limit reached", headers={"retry-after": "7"})
    fake_openai.reply_text("too late")
    with pytest.raises(errors.TransientAgentError) as caught:
        await runner.run(request())
    assert caught.value.retry_after == 7
    assert "HTTP 429" in caught.value.message
    assert "Rate limit reached" in caught.value.message
    assert len(fake_openai.requests) == 1  # the engine owns retries, not the SDK


async def test_500_is_transient(runner: ModelAgentRunner, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_error(500, "upstream exploded")
    with pytest.raises(errors.TransientAgentError, match="HTTP 500"):
        await runner.run(request())
    assert len(fake_openai.requests) == 1


async def test_a_slow_provider_times_out_as_a_transient_error(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply_text("late", delay_s=3)
    with pytest.raises(errors.TransientAgentError, match="did not answer in time"):
        await runner.run(request(timeout_s=0.3))


async def test_a_rejected_key_fails_naming_the_setting(
    make_settings: SettingsFactory, fake_openai: FakeOpenAI
) -> None:
    settings = make_settings(openai_api_key="sk-wrong", openai_base_url=fake_openai.base_url)
    agent_runner = ModelAgentRunner(settings)
    try:
        with pytest.raises(errors.NodeFailed, match="RELAYFLOW_OPENAI_API_KEY") as caught:
            await agent_runner.run(request())
    finally:
        await agent_runner.aclose()
    assert "sk-wrong" not in caught.value.message
    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-wrong"


async def test_a_bad_request_fails_with_the_providers_message(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply_error(400, "max_tokens is too large")
    with pytest.raises(errors.NodeFailed, match="max_tokens is too large"):
        await runner.run(request())


async def test_a_missing_key_fails_before_any_request(make_settings: SettingsFactory) -> None:
    agent_runner = ModelAgentRunner(make_settings())
    with pytest.raises(errors.ConfigError, match="RELAYFLOW_OPENAI_API_KEY"):
        await agent_runner.run(request())
    await agent_runner.aclose()


# ----------------------------------------------------------------- delegation
async def test_a_delegate_answers_through_the_ask_tool(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply_tool_calls(
        ("ask_writer", {"question": "Draft a haiku about rain"}), input_tokens=50, output_tokens=10
    )
    fake_openai.reply_text("Here is the haiku.", input_tokens=80, output_tokens=5)
    events = Events()
    result = await runner.run(request(delegates=(WRITER,), on_event=events))

    assert result.output == "Here is the haiku."
    first, second = fake_openai.bodies
    [tool] = first["tools"]
    assert tool["function"]["name"] == "ask_writer"
    assert tool["function"]["parameters"]["required"] == ["question"]
    tool_message = second["messages"][-1]
    assert tool_message == {
        "role": "tool",
        "tool_call_id": "call_0",
        "content": "[writer] echo: Draft a haiku about rain",
    }
    # The delegate's own (offline) usage is part of the node's usage.
    assert result.usage.input_tokens > 130
    assert result.usage.requests == 3
    [call] = result.tool_calls
    assert call["kind"] == "delegate"
    assert call["status"] == "completed"
    statuses = [e["status"] for e in events.of("agent.tool_call")]
    assert statuses == ["started", "completed"]


async def test_the_echo_model_delegates_when_its_prompt_asks(
    make_settings: SettingsFactory,
) -> None:
    agent_runner = ModelAgentRunner(make_settings())
    result = await agent_runner.run(
        request(
            SUPERVISOR,
            "Plan the launch\n@ask writer: draft the post\n@ask editor: list the risks",
            delegates=(WRITER, EDITOR),
        )
    )
    assert result.output == (
        "[supervisor] echo: Plan the launch\n"
        "ask_writer -> [writer] echo: draft the post\n"
        "ask_editor -> [editor] echo: list the risks"
    )
    assert [c["tool"] for c in result.tool_calls] == ["ask_writer", "ask_editor"]


def asking(colleague: str, question: str) -> str:
    """A directive whose question may itself hold directives (for the colleague)."""
    return f"@tool ask_{colleague} " + json.dumps({"question": question})


async def test_an_agent_never_asks_itself_or_an_agent_already_asking(
    make_settings: SettingsFactory,
) -> None:
    agent_runner = ModelAgentRunner(make_settings())
    prompt = "start\n@ask boss: may I ask myself?\n" + asking("writer", "draft\n@ask boss: ok?")
    result = await agent_runner.run(request(SUPERVISOR, prompt, delegates=(WRITER, SUPERVISOR)))
    assert result.output == (
        "[supervisor] echo: start\n"
        "ask_writer -> [writer] echo: draft\n"
        "ask_boss -> no such tool\n"  # the writer may not ask back up the chain
        "ask_boss -> no such tool"  # nor the boss itself
    )
    assert [(c["agent"], c["tool"]) for c in result.tool_calls] == [("Boss", "ask_writer")]


@pytest.mark.parametrize(("max_depth", "deepest_answers"), [(2, False), (3, True)])
async def test_delegation_depth_is_limited(
    make_settings: SettingsFactory, max_depth: int, deepest_answers: bool
) -> None:
    colleagues = tuple(
        AgentProfile(id=f"a{i}", name=f"a{i}", role=f"level {i}", model="test:echo")
        for i in (1, 2, 3)
    )
    prompt = "start\n" + asking("a1", "one\n" + asking("a2", "two\n@ask a3: three"))
    agent_runner = ModelAgentRunner(make_settings(), max_delegation_depth=max_depth)
    result = await agent_runner.run(request(SUPERVISOR, prompt, delegates=colleagues))

    asked = [(c["agent"], c["tool"]) for c in result.tool_calls]
    assert asked[:2] == [("Boss", "ask_a1"), ("a1", "ask_a2")]
    assert (("a2", "ask_a3") in asked) is deepest_answers
    assert ("ask_a3 -> no such tool" in result.output) is not deepest_answers


# ----------------------------------------------------------------- tools
async def test_http_tools_go_through_the_network_guard(
    make_settings: SettingsFactory, fake_openai: FakeOpenAI
) -> None:
    from tests.support.fake_openai import API_KEY

    async def weather(req: ReceivedRequest) -> Reply:
        return Reply.json({"path": req.target, "forecast": "rain"})

    async with LocalHttpServer(weather) as api:
        tool = HttpToolSpec(
            name="get_weather",
            description="Weather for a city",
            method="GET",
            url=api.url("/weather/{city}"),
        )
        allowed = make_settings(
            openai_api_key=API_KEY,
            openai_base_url=fake_openai.base_url,
            http_allowlist=["127.0.0.1:*"],
        )
        agent_runner = ModelAgentRunner(allowed)
        fake_openai.reply_tool_calls(("get_weather", {"city": "São Paulo", "days": 2}))
        fake_openai.reply_text("Rain.")
        try:
            result = await agent_runner.run(request(http_tools=(tool,)))
        finally:
            await agent_runner.aclose()

    assert result.output == "Rain."
    [sent] = api.requests
    assert sent.target == "/weather/S%C3%A3o%20Paulo?days=2"
    parameters = fake_openai.bodies[0]["tools"][0]["function"]["parameters"]
    assert "city" in parameters["required"]
    returned = fake_openai.bodies[1]["messages"][-1]["content"]
    assert '"forecast":"rain"' in returned.replace(" ", "")


async def test_an_http_tool_to_a_blocked_address_fails_the_node(
    runner: ModelAgentRunner, fake_openai: FakeOpenAI
) -> None:
    tool = HttpToolSpec(name="fetch", description="", method="GET", url="http://127.0.0.1:9/x")
    fake_openai.reply_tool_calls(("fetch", {}))
    with pytest.raises(errors.NodeFailed, match=r"tool .fetch.*a loopback address"):
        await runner.run(request(http_tools=(tool,)))


async def test_subworkflow_tools_run_the_workflow(make_settings: SettingsFactory) -> None:
    calls: list[tuple[str, Any]] = []

    async def run_workflow(workflow_id: str, value: Any) -> Any:
        calls.append((workflow_id, value))
        return {"summary": f"summarised {value['text']}"}

    spec = SubworkflowToolSpec(name="summarise", description="Summarise", workflow_id="wf-9")
    agent_runner = ModelAgentRunner(make_settings())
    result = await agent_runner.run(
        request(
            SUPERVISOR,
            'Summarise this\n@tool summarise {"input": {"text": "a long story"}}',
            subworkflow_tools=(spec,),
            call_subworkflow=run_workflow,
        )
    )
    assert calls == [("wf-9", {"text": "a long story"})]
    assert result.output == (
        '[supervisor] echo: Summarise this\nsummarise -> {"summary":"summarised a long story"}'
    )


# ----------------------------------------------------------------- offline and limits
async def test_offline_answers_need_no_network_and_report_usage(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(prices={"test:echo": {"input": 1_000_000, "output": 0}})
    agent_runner = ModelAgentRunner(settings)
    events = Events()
    result = await agent_runner.run(request(WRITER, "Write a poem", on_event=events))
    assert result.output == "[writer] echo: Write a poem"
    assert result.usage.input_tokens > 50
    assert result.cost_usd == result.usage.input_tokens  # $1 per token, as configured
    assert [e["delta"] for e in events.of("agent.delta")] == [result.output]


class RecordingLimiter:
    """Counts slots held at once per provider, around a real local limiter."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.inner = LocalProviderLimiter(limits)
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.acquired: list[str] = []

    @asynccontextmanager
    async def slot(self, provider: str) -> AsyncIterator[None]:
        async with self.inner.slot(provider):
            self.acquired.append(provider)
            self.active[provider] = self.active.get(provider, 0) + 1
            self.peak[provider] = max(self.peak.get(provider, 0), self.active[provider])
            try:
                yield
            finally:
                self.active[provider] -= 1


async def test_each_model_request_holds_a_provider_slot(make_settings: SettingsFactory) -> None:
    slow = AgentProfile(id=None, name="Slow", role="slow", model="test:sleep-50")
    limiter = RecordingLimiter({"test": 2})
    agent_runner = ModelAgentRunner(make_settings(), limiter=limiter)
    await asyncio.gather(*(agent_runner.run(request(slow, "hi")) for _ in range(6)))
    assert limiter.acquired == ["test"] * 6
    assert limiter.peak == {"test": 2}


async def test_delegation_does_not_deadlock_on_a_single_slot(
    make_settings: SettingsFactory,
) -> None:
    # The boss's request gives its slot back before the writer's request needs one.
    limiter = RecordingLimiter({"test": 1})
    agent_runner = ModelAgentRunner(make_settings(), limiter=limiter)
    result = await asyncio.wait_for(
        agent_runner.run(request(SUPERVISOR, "@ask writer: draft", delegates=(WRITER,))), 10
    )
    assert "ask_writer -> [writer] echo: draft" in result.output
    assert limiter.acquired == ["test"] * 3  # boss, writer, boss again


async def test_offline_models_are_not_limited_by_default(make_settings: SettingsFactory) -> None:
    slow = AgentProfile(id=None, name="Slow", role="slow", model="test:sleep-200")
    agent_runner = ModelAgentRunner(make_settings(default_provider_concurrency=1))
    stamps: list[tuple[float, float]] = []

    async def timed() -> None:
        started = time.monotonic()
        await agent_runner.run(request(slow, "hi"))
        stamps.append((started, time.monotonic()))

    await asyncio.gather(*(timed() for _ in range(5)))
    assert max(s for s, _ in stamps) < min(e for _, e in stamps)  # all overlapped
