from __future__ import annotations

import uuid

from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine.executor import ApprovalDecision
from tests.engine.fakes import GraphBuilder, Harness


def graph() -> dict[str, object]:
    g = GraphBuilder().node("in", "input")
    g.node("ok", "approval", message="Publish {{ input.title }}?")
    g.node("publish", "output", value="published")
    g.node("drop", "output", value="dropped: {{ nodes.ok.output.comment }}")
    g.edge("in", "ok").edge("ok", "publish").edge("ok", "drop", "rejected")
    return g.build()


async def test_without_a_decision_the_execution_waits_on_the_approval() -> None:
    h = Harness()
    outcome = await h.run(graph(), {"title": "Tides"})
    assert outcome.status is ExecutionStatus.WAITING
    assert outcome.waiting_on == ["ok"]
    record = h.store.of("ok")[-1]
    assert record.status is NodeRunStatus.WAITING
    assert record.output == {"message": "Publish Tides?"}
    assert h.store.of("publish") == h.store.of("drop") == []
    waiting = next(p for k, p in h.events if k == "node.waiting")
    assert waiting["waiting_on"] == ["ok"]


async def test_approval_continues_on_the_approved_edges() -> None:
    h = Harness()
    execution_id = uuid.uuid4()
    await h.run(graph(), {"title": "Tides"}, execution_id=execution_id)
    decision = ApprovalDecision(approved=True, comment="fine", decided_by="u1")
    outcome = await h.run(
        graph(), {"title": "Tides"}, execution_id=execution_id, decisions={"ok": decision}
    )
    assert outcome.status is ExecutionStatus.COMPLETED
    assert outcome.output == "published"
    assert h.store.of("ok")[-1].output == {
        "approved": True,
        "comment": "fine",
        "decided_by": "u1",
        "message": "Publish Tides?",
    }
    assert h.statuses(execution_id)["drop"] == "skipped"


async def test_rejection_continues_only_on_the_rejected_handle() -> None:
    h = Harness()
    decision = ApprovalDecision(approved=False, comment="too long", decided_by="u1")
    outcome = await h.run(graph(), {"title": "Tides"}, decisions={"ok": decision})
    assert outcome.output == "dropped: too long"
    assert h.statuses()["publish"] == "skipped"


async def test_other_branches_finish_before_the_execution_waits() -> None:
    h = Harness()
    g = GraphBuilder().node("in", "input").node("ok", "approval").node("out", "output")
    g.agent("side", parameters={"sleep_s": 0.05}).node("side_out", "output")
    g.chain("in", "ok", "out").chain("in", "side", "side_out")
    outcome = await h.run(g.build(), "x")
    assert outcome.status is ExecutionStatus.WAITING
    assert h.statuses()["side_out"] == "completed"
