"""The offline models: deterministic, from their input, with directives and schemas."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic_ai import Agent, StructuredDict, Tool
from pydantic_ai.exceptions import ModelHTTPError, ModelUnavailableError
from pydantic_ai.messages import PartDeltaEvent, PartStartEvent, TextPart, TextPartDelta

from relayflow import errors
from relayflow.agents import offline


def echo_agent(model: str = "echo", **kw: Any) -> Agent[None, Any]:
    return Agent(offline.offline_model(model, role="critic"), **kw)


async def test_echo_answers_from_its_prompt_with_plausible_usage() -> None:
    result = await echo_agent().run("Review this draft")
    assert result.output == "[critic] echo: Review this draft"
    assert result.usage.input_tokens == offline.REQUEST_OVERHEAD_TOKENS + 3
    assert result.usage.output_tokens == offline.estimate_tokens(result.output)


async def test_the_direct_answer_matches_the_agent_path() -> None:
    prompt = "Summarise:\nthe quarterly numbers\n@ask nobody: hello"
    via_agent = await echo_agent().run(prompt)
    direct = await offline.answer_directly(
        "test:echo", role="critic", system_prompt=None, prompt=prompt
    )
    assert direct.text == via_agent.output
    assert direct.text.endswith("ask_nobody -> no such tool")
    assert (direct.input_tokens, direct.output_tokens) == (
        via_agent.usage.input_tokens,
        via_agent.usage.output_tokens,
    )


async def test_streaming_gives_the_same_answer_in_pieces() -> None:
    pieces: list[str] = []

    async def collect(_ctx: Any, stream: Any) -> None:
        async for event in stream:
            if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                pieces.append(event.part.content)
            elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                pieces.append(event.delta.content_delta)

    result = await echo_agent().run("one two three", event_stream_handler=collect)
    assert "".join(pieces) == result.output == "[critic] echo: one two three"
    assert len(pieces) > 1


async def test_tool_directives_call_tools_and_report_their_results() -> None:
    seen: list[dict[str, Any]] = []

    async def lookup(**args: Any) -> str:
        seen.append(args)
        return f"found {args['q']}"

    tool = Tool.from_schema(lookup, name="lookup", description="", json_schema={"type": "object"})
    result = await echo_agent(tools=[tool]).run('Research\n@tool lookup {"q": "otters"}')
    assert seen == [{"q": "otters"}]
    assert result.output == "[critic] echo: Research\nlookup -> found otters"


def test_directives_are_parsed_line_by_line() -> None:
    text, directives, answer = offline.split_prompt(
        'Intro\n@ask Senior Writer: draft it\n@tool fetch {"url": "u"}\n@json {"a": 1}\nOutro'
    )
    assert text == "Intro\nOutro"
    assert directives == [
        offline.Directive("ask_senior_writer", {"question": "draft it"}),
        offline.Directive("fetch", {"url": "u"}),
    ]
    assert answer == {"a": 1}


async def test_structured_answers_follow_the_schema_and_the_prompt() -> None:
    schema = {
        "type": "object",
        "properties": {
            "category": {"enum": ["technical", "billing", "other"]},
            "summary": {"type": "string", "maxLength": 20},
            "priority": {"type": "integer", "minimum": 1, "maximum": 5},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["category", "priority"],
    }
    result = await echo_agent(output_type=StructuredDict(schema)).run(
        "My invoice shows the wrong billing address"
    )
    assert result.output["category"] == "billing"
    jsonschema.validate(result.output, schema)


async def test_a_json_directive_is_the_answer() -> None:
    schema = {"type": "object", "properties": {"route": {"type": "string"}}}
    agent = echo_agent(output_type=StructuredDict(schema))
    result = await agent.run('Route this\n@json {"route": "sales"}')
    assert result.output == {"route": "sales"}


async def test_sleep_models_take_their_time() -> None:
    assert offline.behaviour_for("sleep-250").sleep_s == 0.25
    result = await echo_agent("sleep-1").run("hi")
    assert result.output == "[critic] echo: hi"


async def test_fail_always_fails() -> None:
    with pytest.raises(ModelHTTPError, match="test:fail always fails"):
        await echo_agent("fail").run("hi")


async def test_flaky_fails_the_first_n_requests_per_prompt() -> None:
    agent = echo_agent("flaky-2")
    for _ in range(2):
        with pytest.raises(ModelUnavailableError) as caught:
            await agent.run("unique prompt for flaky")
        assert caught.value.retry_after == 0
    assert (await agent.run("unique prompt for flaky")).output.endswith("unique prompt for flaky")


def test_unknown_offline_models_list_the_known_ones() -> None:
    with pytest.raises(errors.InvalidInput, match="test:flaky-<n>"):
        offline.behaviour_for("gpt")
