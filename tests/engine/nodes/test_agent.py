from __future__ import annotations

from relayflow.domain import ExecutionStatus
from relayflow.engine.ports import AgentProfile, HttpToolSpec, SubworkflowToolSpec, TokenUsage
from tests.engine.fakes import GraphBuilder, Harness

WRITER = AgentProfile(
    id="writer",
    name="Writer",
    role="writer",
    model="fake:base",
    system_prompt="You write.",
    parameters={"temperature": 0.2, "max_tokens": 100},
)
CRITIC = AgentProfile(id="critic", name="Critic", role="critic", model="fake:critic")


def harness() -> Harness:
    h = Harness()
    h.templates.add(WRITER)
    h.templates.add(CRITIC)
    return h


def one_agent(**data: object) -> dict[str, object]:
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.node("a", "agent", **data)
    return g.chain("in", "a", "out").build()


async def test_node_overrides_are_merged_over_the_template() -> None:
    h = harness()
    graph = one_agent(
        template_id="writer",
        model="fake:other",
        system_prompt="Write about {{ input.topic }}.",
        parameters={"temperature": 0.9},
        prompt="Topic: {{ input.topic }}",
    )
    outcome = await h.run(graph, {"topic": "tides"})
    assert outcome.output == "writer: Topic: tides"
    request = h.agents.calls[0].request
    assert request.profile == AgentProfile(
        id="writer",
        name="Writer",
        role="writer",
        model="fake:other",
        system_prompt="Write about tides.",
        parameters={"temperature": 0.9, "max_tokens": 100},
    )
    assert request.prompt == "Topic: tides"


async def test_template_defaults_apply_without_overrides() -> None:
    h = harness()
    await h.run(one_agent(template_id="writer", prompt="hi"), None)
    assert h.agents.calls[0].request.profile == WRITER


async def test_an_inline_agent_needs_no_template() -> None:
    h = harness()
    graph = one_agent(model="fake:inline", role="poet", label="Poet", prompt="rhyme")
    outcome = await h.run(graph, None)
    assert outcome.output == "poet: rhyme"
    assert h.agents.calls[0].request.profile.name == "Poet"


async def test_an_unknown_template_fails_naming_it() -> None:
    outcome = await harness().run(one_agent(template_id="ghost", prompt="x"), None)
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "node 'a': data.template_id: agent template 'ghost' not found"


async def test_delegates_tools_and_workflows_reach_the_runner() -> None:
    h = harness()
    tool = {"name": "weather", "description": "Weather", "url": "https://example.com/w"}
    flow = {"name": "summarize", "description": "Summaries", "workflow_id": "wf-sum"}
    graph = one_agent(
        template_id="writer",
        prompt="go",
        delegates=["critic"],
        tools=[tool],
        workflows=[flow],
        timeout_s=9,
    )
    await h.run(graph, None)
    request = h.agents.calls[0].request
    assert request.delegates == (CRITIC,)
    assert request.http_tools == (
        HttpToolSpec(name="weather", description="Weather", method="GET", url=tool["url"]),
    )
    assert request.subworkflow_tools == (
        SubworkflowToolSpec(name="summarize", description="Summaries", workflow_id="wf-sum"),
    )
    assert request.call_subworkflow is not None
    assert request.timeout_s == 9


async def test_an_unknown_delegate_fails_naming_it() -> None:
    graph = one_agent(template_id="writer", prompt="go", delegates=["critic", "nobody"])
    outcome = await harness().run(graph, None)
    assert outcome.error == "node 'a': data.delegates[1]: agent template 'nobody' not found"


async def test_usage_and_cost_are_recorded_on_the_node_run() -> None:
    h = harness()
    graph = one_agent(model="fake:x", prompt="go", parameters={"usage": [12, 7], "cost_usd": 0.03})
    outcome = await h.run(graph, None)
    record = h.store.of("a")[-1]
    assert record.usage == TokenUsage(12, 7, 1)
    assert record.cost_usd == 0.03
    assert outcome.usage == TokenUsage(12, 7, 1)


async def test_json_output_must_match_the_output_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    good = one_agent(
        model="fake:x", prompt="go", output_schema=schema, parameters={"answer": {"n": 1}}
    )
    assert (await harness().run(good, None)).output == {"n": 1}
    bad = one_agent(model="fake:x", prompt="go", output_schema=schema, parameters={"answer": "n"})
    outcome = await harness().run(bad, None)
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error is not None
    assert "data.output_schema: the agent's answer does not match it" in outcome.error


async def test_a_template_output_schema_in_parameters_is_used_and_not_sent_as_setting() -> None:
    h = Harness()
    schema = {"type": "object"}
    h.templates.add(
        AgentProfile(
            id="extractor",
            name="Extractor",
            role="extractor",
            model="fake:x",
            parameters={"output_schema": schema, "answer": {"k": "v"}},
        )
    )
    outcome = await h.run(one_agent(template_id="extractor", prompt="go"), None)
    assert outcome.output == {"k": "v"}
    request = h.agents.calls[0].request
    assert request.output_schema == schema
    assert "output_schema" not in request.profile.parameters


async def test_a_subworkflow_tool_call_runs_the_workflow() -> None:
    h = harness()
    child = GraphBuilder().node("in", "input").node("out", "output", value="sum of {{ input }}")
    h.workflows.add("wf-sum", child.chain("in", "out").build())
    flow = {"name": "summarize", "workflow_id": "wf-sum"}
    graph = one_agent(
        model="fake:x", prompt="go", workflows=[flow], parameters={"call_workflow": ["wf-sum", "t"]}
    )
    outcome = await h.run(graph, None)
    assert outcome.output == "sum of t"
    assert {r.node_id for r in h.store.runs()} >= {"a#1/in", "a#1/out"}


async def test_agent_deltas_are_passed_on_as_events() -> None:
    h = harness()
    await h.run(one_agent(model="fake:x", prompt="streaming"), None)
    deltas = [p for k, p in h.events if k == "agent.delta"]
    assert deltas == [{"node_id": "a", "text": "streaming"}]
