"""A local run answers plain offline requests without the model library; the answer,
usage and cost are exactly what the agent runner gives for the same request."""

from __future__ import annotations

import pytest

from relayflow.agents.runner import ModelAgentRunner
from relayflow.config import ModelPrice, Settings
from relayflow.engine.ports import AgentProfile, AgentRequest
from relayflow.local_run import AgentsOnFirstUse


@pytest.mark.parametrize(
    ("model", "prompt"),
    [
        ("test:echo", "Summarise durable workflows"),
        ("test:sleep-20", "two\nlines"),
        ("test:echo", 'Draft it\n@ask writer: a haiku\n@tool fetch {"url": "u"}'),
    ],
)
async def test_the_plain_offline_answer_is_the_runners(model: str, prompt: str) -> None:
    settings = Settings(prices={model: ModelPrice(input=1.0, output=2.0)})
    profile = AgentProfile(
        id=None, name="Researcher", role="research", model=model, system_prompt="Be brief."
    )
    request = AgentRequest(node_id="n1", profile=profile, prompt=prompt)
    deltas: list[str] = []

    async def sink(kind: str, payload: dict[str, object]) -> None:
        deltas.append(str(payload["delta"]))

    light = AgentsOnFirstUse(settings)
    plain = await light.run(
        AgentRequest(node_id="n1", profile=profile, prompt=prompt, on_event=sink)
    )
    runner = ModelAgentRunner(settings)
    try:
        full = await runner.run(request)
    finally:
        await runner.aclose()

    assert light.runner is None  # answered without making the model runner
    assert (plain.output, plain.usage, plain.cost_usd) == (full.output, full.usage, full.cost_usd)
    assert plain.cost_usd > 0
    assert deltas == [plain.output]


async def test_requests_that_need_the_model_library_still_get_it() -> None:
    profile = AgentProfile(id=None, name="Classifier", role="classify", model="test:echo")
    agents = AgentsOnFirstUse(Settings())
    try:
        result = await agents.run(
            AgentRequest(
                node_id="n1",
                profile=profile,
                prompt="route this",
                output_schema={"type": "object", "properties": {"route": {"enum": ["a", "b"]}}},
            )
        )
    finally:
        await agents.aclose()

    assert agents.runner is not None
    assert result.output["route"] in ("a", "b")
