"""Rows for runtime tests: users and workflows written straight to the database."""

from __future__ import annotations

import uuid
from typing import Any

from relayflow.store import models
from relayflow.store.db import Database


def chain_graph(*kinds: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A linear graph: nodes n0 -> n1 -> ... of the given (type, data)."""
    nodes = [
        {"id": f"n{i}", "type": kind, "position": {"x": 0, "y": 100 * i}, "data": data}
        for i, (kind, data) in enumerate(kinds)
    ]
    edges = [
        {"id": f"e{i}", "source": f"n{i}", "target": f"n{i + 1}"} for i in range(len(kinds) - 1)
    ]
    return {"nodes": nodes, "edges": edges}


def echo_graph(model: str = "test:echo") -> dict[str, Any]:
    """input -> agent(model) -> output: the agent's answer is the execution's output."""
    return chain_graph(
        ("input", {}),
        ("agent", {"model": model, "prompt": "{{ input.text }}"}),
        ("output", {"value": "{{ nodes.n1.output }}"}),
    )


async def make_user(db: Database, *, email: str | None = None, role: str = "user") -> uuid.UUID:
    user_id = uuid.uuid4()
    async with db.transaction() as session:
        session.add(
            models.User(
                id=user_id,
                email=email or f"{user_id.hex[:8]}@example.com",
                password_hash="x",
                role=role,
            )
        )
    return user_id


async def make_workflow(
    db: Database, user_id: uuid.UUID, graph: dict[str, Any] | None = None, *, public: bool = False
) -> models.Workflow:
    graph = graph or echo_graph()
    workflow = models.Workflow(
        id=uuid.uuid4(),
        user_id=user_id,
        name="wf",
        nodes=graph["nodes"],
        edges=graph["edges"],
        is_public=public,
    )
    async with db.transaction() as session:
        session.add(workflow)
    return workflow


async def node_runs(db: Database, execution_id: uuid.UUID) -> list[models.NodeRun]:
    from relayflow.store.node_runs import node_runs_of

    async with db.session() as session:
        return list(await node_runs_of(session, execution_id))


def completed_count(runs: list[models.NodeRun], node_id: str) -> int:
    return sum(1 for r in runs if r.node_id == node_id and r.status == "completed")
