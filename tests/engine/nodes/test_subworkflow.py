from __future__ import annotations

import asyncio
import uuid

from relayflow.domain import ExecutionStatus
from relayflow.engine.executor import ApprovalDecision, EngineOptions
from tests.engine.fakes import GraphBuilder, Harness


def child_graph() -> dict[str, object]:
    g = GraphBuilder().node("in", "input").agent("shout", "{{ input.text | upper }}")
    return g.node("out", "output").chain("in", "shout", "out").build()


def parent_graph(**data: object) -> dict[str, object]:
    g = GraphBuilder().node("in", "input").node("out", "output")
    g.node("sub", "subworkflow", workflow_id="child", **data)
    return g.chain("in", "sub", "out").build()


async def test_a_subworkflow_runs_with_its_input_and_gives_its_output() -> None:
    h = Harness()
    h.workflows.add("child", child_graph())
    outcome = await h.run(parent_graph(input={"text": "{{ input }}"}), "hey")
    assert outcome.status is ExecutionStatus.COMPLETED
    assert outcome.output == "assistant: HEY"
    # Its node runs are recorded under the parent node's id.
    assert {"sub/in", "sub/shout", "sub/out"} <= {r.node_id for r in h.store.runs()}
    assert "sub/shout" in {p["node_id"] for _, p in h.events}


async def test_without_input_the_child_gets_the_execution_input() -> None:
    h = Harness()
    h.workflows.add("child", child_graph())
    outcome = await h.run(parent_graph(), {"text": "hi"})
    assert outcome.output == "assistant: HI"


async def test_an_unknown_or_foreign_workflow_is_not_found() -> None:
    h = Harness()
    h.workflows.add("child", child_graph(), owner=uuid.uuid4())
    outcome = await h.run(parent_graph(), {"text": "x"}, user_id=uuid.uuid4())
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error == (
        "node 'sub': workflow 'child' not found (or not readable by this user)"
    )


async def test_nesting_deeper_than_the_limit_is_refused() -> None:
    h = Harness(options=EngineOptions(subworkflow_max_depth=2, default_retry_backoff_s=0))
    h.workflows.add("child", parent_graph())  # the child calls itself
    outcome = await h.run(parent_graph(), {"text": "x"})
    assert outcome.status is ExecutionStatus.FAILED
    assert outcome.error is not None
    assert "would nest 3 levels deep; the limit is 2" in outcome.error
    assert "RELAYFLOW_SUBWORKFLOW_MAX_DEPTH" in outcome.error


async def test_an_invalid_child_graph_fails_the_node() -> None:
    h = Harness()
    h.workflows.add("child", {"nodes": [], "edges": []})
    outcome = await h.run(parent_graph(), None)
    assert outcome.error is not None
    assert "sub-workflow 'child' is invalid: nodes: the graph has no input node" in outcome.error


async def test_a_failing_child_fails_the_node_with_its_reason() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").agent("bad", parameters={"error": "no"})
    h.workflows.add("child", g.node("out", "output").chain("in", "bad", "out").build())
    outcome = await h.run(parent_graph(), None)
    assert outcome.error == (
        "node 'sub' failed: sub-workflow 'child' failed: node 'sub/bad' failed: no"
    )


async def test_an_approval_inside_a_child_pauses_and_resumes_the_parent() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("ok", "approval").agent("after")
    h.workflows.add("child", g.node("out", "output").chain("in", "ok", "after", "out").build())
    execution_id = uuid.uuid4()
    first = await h.run(parent_graph(), "x", execution_id=execution_id)
    assert first.status is ExecutionStatus.WAITING
    assert first.waiting_on == ["sub/ok"]
    decisions = {"sub/ok": ApprovalDecision(approved=True)}
    second = await h.run(parent_graph(), "x", execution_id=execution_id, decisions=decisions)
    assert second.status is ExecutionStatus.COMPLETED
    assert second.output == "assistant: x"


async def test_cancelling_the_parent_closes_the_child_runs() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").agent("slow", parameters={"sleep_s": 30})
    h.workflows.add("child", g.node("out", "output").chain("in", "slow", "out").build())
    cancel = asyncio.Event()
    task = asyncio.create_task(h.run(parent_graph(), "x", cancel=cancel))
    while not h.store.of("sub/slow"):
        await asyncio.sleep(0.01)
    cancel.set()
    outcome = await task
    assert outcome.status is ExecutionStatus.CANCELLED
    assert h.statuses()["sub/slow"] == "cancelled"
    assert h.statuses()["sub"] == "cancelled"


async def test_a_parent_timeout_closes_the_child_runs() -> None:
    h = Harness(options=EngineOptions(execution_timeout_s=0.2))
    g = GraphBuilder().node("in", "input").agent("slow", parameters={"sleep_s": 30})
    h.workflows.add("child", g.node("out", "output").chain("in", "slow", "out").build())
    outcome = await h.run(parent_graph(), "x")
    assert outcome.status is ExecutionStatus.FAILED
    assert h.statuses()["sub/slow"] == "cancelled"
    assert h.store.of("sub/slow")[-1].error == "the parent node was cancelled"
