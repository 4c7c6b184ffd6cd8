"""Nodes run at once per execution: the workflow's `max_parallel_nodes`, else the
server's default, never above the server's ceiling; observed at the agents."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from relayflow.config import Settings
from relayflow.engine.ports import AgentRequest, AgentResult
from relayflow.runtime.parallelism import ParallelNodeLimits
from relayflow.store import models
from relayflow.store.db import Database
from tests.runtime.conftest import StartWorker, submit, wait_status
from tests.support.rows import make_user, make_workflow

FAN_OUT = 12


class OverlapCounter:
    """An agent runner that counts how many of its calls are in flight at once."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0

    async def run(self, request: AgentRequest) -> AgentResult:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0.05)  # long enough for every started sibling to overlap
            return AgentResult(output=request.prompt, model=request.profile.model)
        finally:
            self.active -= 1


def fan_out_graph() -> dict[str, Any]:
    def node(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
        return {"id": node_id, "type": kind, "position": {"x": 0, "y": 0}, "data": data}

    ids = [f"a{i}" for i in range(FAN_OUT)]
    nodes = [node("in", "input"), node("join", "merge", mode="all"), node("out", "output")]
    nodes += [node(n, "agent", model="test:echo", prompt="part") for n in ids]
    pairs = [("in", n) for n in ids] + [(n, "join") for n in ids] + [("join", "out")]
    edges = [{"id": f"{a}->{b}", "source": a, "target": b} for a, b in pairs]
    return {"nodes": nodes, "edges": edges}


@pytest.mark.parametrize(
    ("server_default", "ceiling", "own", "expected"),
    [
        (4, 256, None, 4),  # no setting of its own: the server's default
        (4, 256, FAN_OUT, FAN_OUT),  # the workflow raises it
        (4, 256, 2, 2),  # ... or lowers it
        (4, 6, FAN_OUT, 6),  # never above the ceiling
    ],
)
async def test_nodes_run_at_once_up_to_the_workflow_setting(
    runtime_settings: Settings,
    db: Database,
    start_worker: StartWorker,
    server_default: int,
    ceiling: int,
    own: int | None,
    expected: int,
) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, fan_out_graph())
    async with db.transaction() as session:
        row = await session.get(models.Workflow, workflow.id)
        assert row is not None
        row.max_parallel_nodes = own
    agents = OverlapCounter()
    settings = runtime_settings.model_copy(
        update={"max_parallel_nodes": server_default, "max_parallel_nodes_ceiling": ceiling}
    )
    await start_worker(settings, agents=agents)

    execution_id = await submit(db, workflow, user)
    done = await wait_status(db, execution_id, {"completed", "failed"})

    assert done.status == "completed", done.error
    assert agents.peak == expected


async def test_a_changed_setting_applies_once_the_short_cache_expires(db: Database) -> None:
    user = await make_user(db)
    workflow = await make_workflow(db, user, fan_out_graph())
    now = [0.0]
    limits = ParallelNodeLimits(db, default=16, ceiling=64, cache_s=5.0, clock=lambda: now[0])

    async def set_own(value: int | None) -> None:
        async with db.transaction() as session:
            row = await session.get(models.Workflow, workflow.id)
            assert row is not None
            row.max_parallel_nodes = value

    assert await limits.for_workflow(workflow.id) == 16
    await set_own(100)
    assert await limits.for_workflow(workflow.id) == 16  # cached
    now[0] = 5.0
    assert await limits.for_workflow(workflow.id) == 64  # re-read, held to the ceiling
    assert await limits.for_workflow(None) == 16
