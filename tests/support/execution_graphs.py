"""Graphs and helpers for tests of the executions API."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from relayflow import security
from relayflow.config import Settings
from relayflow.domain import Actor, Role
from relayflow.store.db import Database
from tests.support.rows import chain_graph, make_user

FINAL = ("completed", "failed", "cancelled")


def identity_graph(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """input -> output: the output is the input."""
    return chain_graph(
        ("input", {"schema": schema} if schema else {}), ("output", {"value": "{{ input }}"})
    )


def slow_graph(ms: int = 400, steps: int = 1) -> dict[str, Any]:
    """input -> `steps` offline agents that each take `ms` -> output (the last answer)."""
    agents = [
        ("agent", {"model": f"test:sleep-{ms}", "prompt": f"step {i}: {{{{ input }}}}"})
        for i in range(steps)
    ]
    return chain_graph(
        ("input", {}), *agents, ("output", {"value": f"{{{{ nodes.n{steps}.output }}}}"})
    )


def approval_graph() -> dict[str, Any]:
    """input -> gate (approval) -> publish on approval, drop on rejection."""
    position = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "in", "type": "input", "position": position, "data": {}},
            {
                "id": "gate",
                "type": "approval",
                "position": position,
                "data": {"message": "Publish {{ input.title }}?"},
            },
            {
                "id": "publish",
                "type": "output",
                "position": position,
                "data": {"value": "published"},
            },
            {
                "id": "drop",
                "type": "output",
                "position": position,
                "data": {"value": "dropped: {{ nodes.gate.output.comment }}"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "in", "target": "gate"},
            {"id": "e2", "source": "gate", "target": "publish", "sourceHandle": "approved"},
            {"id": "e3", "source": "gate", "target": "drop", "sourceHandle": "rejected"},
        ],
    }


def subworkflow_parent_graph(child_id: str, node_id: str) -> dict[str, Any]:
    """input -> a `subworkflow` node (id `node_id`) running `child_id` -> output."""
    position = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "in", "type": "input", "position": position, "data": {}},
            {
                "id": node_id,
                "type": "subworkflow",
                "position": position,
                "data": {"workflow_id": child_id, "input": "{{ input }}"},
            },
            {
                "id": "out",
                "type": "output",
                "position": position,
                "data": {"value": f"{{{{ nodes.{node_id}.output }}}}"},
            },
        ],
        "edges": [
            {"id": "e1", "source": "in", "target": node_id},
            {"id": "e2", "source": node_id, "target": "out"},
        ],
    }


async def create_workflow(
    client: httpx.AsyncClient, headers: dict[str, str], graph: dict[str, Any], **extra: Any
) -> str:
    response = await client.post(
        "/api/v1/workflows", json={"name": "flow", **graph, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    workflow_id: str = response.json()["id"]
    return workflow_id


async def start(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    workflow_id: str,
    input: Any = None,
    *,
    wait: float | None = None,
) -> httpx.Response:
    params = {"wait": wait} if wait is not None else None
    return await client.post(
        f"/api/v1/workflows/{workflow_id}/executions",
        json={"input": input},
        params=params,
        headers=headers,
    )


async def wait_for_status(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    execution_id: str,
    statuses: tuple[str, ...] = FINAL,
    *,
    timeout_s: float = 20.0,
) -> dict[str, Any]:
    """Poll the execution until it reaches one of `statuses`."""
    async with asyncio.timeout(timeout_s):
        while True:
            response = await client.get(f"/api/v1/executions/{execution_id}", headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in statuses:
                return body
            await asyncio.sleep(0.05)


async def sign_in(db: Database, settings: Settings, *, role: Role = Role.USER) -> SignedInUser:
    """A user stored directly, with a bearer token for the API."""
    user_id = await make_user(db, role=role.value)
    token = security.issue_access_token(settings, Actor(user_id, role)).token
    return SignedInUser(user_id, {"Authorization": f"Bearer {token}"})


@dataclass(frozen=True)
class SignedInUser:
    id: uuid.UUID
    headers: dict[str, str]
