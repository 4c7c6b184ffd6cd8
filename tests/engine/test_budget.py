"""Execution budgets in the engine: each limit fails the execution naming the limit and
the node, and no more rows are written than the budget allows."""

from __future__ import annotations

import dataclasses
from typing import Any

from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine.executor import EngineOptions
from relayflow.engine.ports import AgentProfile
from tests.engine.fakes import GraphBuilder, Harness


def harness(**options: Any) -> Harness:
    h = Harness(options=dataclasses.replace(EngineOptions(default_retry_backoff_s=0), **options))
    h.templates.add(AgentProfile(id="echo", name="Echo", role="echo", model="fake:x"))
    return h


def map_graph(**data: object) -> dict[str, object]:
    g = GraphBuilder().node("in", "input").node("out", "output", value="{{ nodes.m.output }}")
    g.node("m", "map", **data)
    return g.chain("in", "m", "out").build()


def recursive_graph() -> dict[str, object]:
    """Maps over itself on 3 items until execution.depth reaches 3: 1+3+9+27 runs of it."""
    items = "range(3)|list if execution.depth < 3 else []"
    return map_graph(items=items, workflow_id="self")


async def test_a_map_over_more_items_than_the_limit_fails_before_any_item_runs() -> None:
    h = harness(max_map_items=10)
    outcome = await h.run(map_graph(items="input", template_id="echo"), list(range(11)))

    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == (
        "node 'm': data.items has 11 items; the limit is 10 items per map node "
        "(RELAYFLOW_MAX_MAP_ITEMS)"
    )
    assert h.agents.calls == []


async def test_node_runs_count_across_child_runs_and_stop_the_whole_execution() -> None:
    h = harness(max_node_runs=50)
    h.workflows.add("self", recursive_graph())
    outcome = await h.run(recursive_graph(), {})

    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error is not None
    assert "would start node run 51 of this execution" in outcome.error
    assert outcome.error.endswith(
        "the limit is 50 node runs (RELAYFLOW_MAX_NODE_RUNS_PER_EXECUTION)"
    )
    assert "ExceptionGroup" not in outcome.error
    assert len(h.store.runs()) == 50


async def test_within_the_budget_the_same_recursion_completes() -> None:
    h = harness(max_node_runs=200)
    h.workflows.add("self", recursive_graph())
    outcome = await h.run(recursive_graph(), {})

    assert outcome.status is ExecutionStatus.COMPLETED, outcome.error
    assert len(h.store.runs()) == 40 * 3  # 40 runs of the graph, 3 nodes each


async def test_map_items_count_as_node_runs() -> None:
    h = harness(max_node_runs=5)
    outcome = await h.run(map_graph(items="input", template_id="echo"), list(range(10)))

    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error is not None
    assert "node 'm[3]' would start node run 6" in outcome.error
    assert len(h.store.runs()) <= 5  # in, m, and the items that finished of m[0..2]


async def test_an_output_over_the_limit_fails_its_node_without_a_retry() -> None:
    h = harness(max_node_output_bytes=100)
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.node("big", "transform", value="{{ 'x' * 200 }}", retries=3)
    graph = g.chain("in", "big", "out").build()
    outcome = await h.run(graph, {})

    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == (
        "node 'big': its output is 202 bytes as JSON; the limit is 100 bytes per node "
        "(RELAYFLOW_MAX_NODE_OUTPUT_BYTES)"
    )
    big = [r for r in h.store.runs() if r.node_id == "big"]
    assert [r.status for r in big] == [NodeRunStatus.FAILED]


async def test_events_past_the_limit_are_dropped_and_fail_the_execution() -> None:
    h = harness(max_events=5)
    g = GraphBuilder().node("in", "input")
    for n in range(5):
        g.node(f"t{n}", "transform", value="{{ input }}")
    g.node("out", "output")
    graph = g.chain("in", "t0", "t1", "t2", "t3", "t4", "out").build()
    outcome = await h.run(graph, {})

    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.endswith(
        "would emit event 6 of this execution; the limit is 5 events "
        "(RELAYFLOW_MAX_EVENTS_PER_EXECUTION)"
    )
    assert len(h.events) == 5
