from __future__ import annotations

import uuid

from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine.ports import AgentProfile, TokenUsage
from tests.engine.fakes import GraphBuilder, Harness


def harness(**parameters: object) -> Harness:
    h = Harness()
    h.templates.add(
        AgentProfile(
            id="sum", name="Summarizer", role="summarizer", model="fake:x", parameters=parameters
        )
    )
    return h


def graph(**data: object) -> dict[str, object]:
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.node("m", "map", **data)
    return g.chain("in", "m", "out").build()


async def test_an_agent_runs_per_item_and_results_keep_item_order() -> None:
    h = harness(sleep_s=0.01)
    prompt = "{{ index }}: {{ item.text }}"
    outcome = await h.run(
        graph(items="input.docs", template_id="sum", prompt=prompt),
        {"docs": [{"text": "a"}, {"text": "b"}, {"text": "c"}]},
    )
    assert outcome.output == ["summarizer: 0: a", "summarizer: 1: b", "summarizer: 2: c"]
    assert [r.node_id for r in h.store.runs() if "[" in r.node_id] == ["m[0]", "m[1]", "m[2]"]


async def test_concurrency_caps_items_in_flight() -> None:
    h = harness(sleep_s=0.03)
    await h.run(graph(items="input", template_id="sum", concurrency=2), list(range(6)))
    spans = [(c.started, c.finished or 0) for c in h.agents.calls]
    assert len(spans) == 6
    for start, _ in spans:
        assert sum(1 for s, f in spans if s <= start < f) <= 2
    # ... and yet items did overlap.
    assert any(sum(1 for s, f in spans if s <= start < f) == 2 for start, _ in spans)


async def test_items_that_are_not_a_list_fail_the_node() -> None:
    outcome = await harness().run(graph(items="input.n", template_id="sum"), {"n": 3})
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "node 'm': data.items: expected a list, got int"


async def test_a_failing_item_fails_the_node_naming_the_item() -> None:
    h = harness(fail_first=1)
    outcome = await h.run(graph(items="input", template_id="sum"), ["only"])
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == "node 'm' failed: item 0: provider answered 429"


async def test_a_workflow_runs_per_item() -> None:
    h = Harness()
    child = GraphBuilder().node("in", "input").node("out", "output", value="<{{ input }}>")
    h.workflows.add("wrap", child.chain("in", "out").build())
    outcome = await h.run(graph(items="input", workflow_id="wrap"), ["x", "y"])
    assert outcome.output == ["<x>", "<y>"]
    assert "m[1]/out" in {r.node_id for r in h.store.runs()}


async def test_a_resumed_map_only_runs_unfinished_items() -> None:
    h = harness(usage=[3, 2])
    execution_id = uuid.uuid4()
    items = ["a", "b", "c"]
    await h.run(graph(items="input", template_id="sum"), items, execution_id=execution_id)
    # Forget item 2 and the map node itself, as if the worker died mid-map.
    for key in [k for k in h.store.attempts if k[1] in ("m", "m[2]", "out")]:
        del h.store.attempts[key]
    h.agents.calls.clear()
    outcome = await h.run(graph(items="input", template_id="sum"), items, execution_id=execution_id)
    assert outcome.output == ["summarizer: a", "summarizer: b", "summarizer: c"]
    assert [c.node_id for c in h.agents.calls] == ["m[2]"]
    # Usage is carried by the item rows: three items, counted once each.
    assert outcome.usage == TokenUsage(9, 6, 3)
    assert h.store.of("m")[-1].usage == TokenUsage()
    assert h.store.of("m")[-1].status is NodeRunStatus.COMPLETED
