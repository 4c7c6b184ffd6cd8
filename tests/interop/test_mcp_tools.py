"""Workflows as MCP tools (issue 16): the official `mcp` SDK client against a real server."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import httpx2
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select

from relayflow.config import Settings
from relayflow.store import models
from relayflow.store.db import Database
from tests.support.rows import chain_graph

from .conftest import User, new_user, offered_workflow

SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string", "description": "What to say"}},
    "required": ["text"],
}
GREETER = chain_graph(
    ("input", {"schema": SCHEMA}),
    ("agent", {"model": "test:echo", "prompt": "hello {{ input.text }}"}),
    ("output", {"value": "{{ nodes.n1.output }}"}),
)


def mcp_client(base_url: str, user: User) -> Client:
    http = httpx2.AsyncClient(headers=user.headers, timeout=60)
    return Client(streamable_http_client(f"{base_url}/mcp", http_client=http))


async def executions_of(db: Database, workflow_id: uuid.UUID) -> list[models.Execution]:
    async with db.session() as session:
        query = select(models.Execution).where(models.Execution.workflow_id == workflow_id)
        return list((await session.scalars(query)).all())


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def test_the_mcp_sdk_lists_and_calls_a_workflow_and_the_run_is_in_the_history(
    base_url: str, db: Database, settings: Settings
) -> None:
    alice = await new_user(db, settings)
    greeter = await offered_workflow(db, alice, name="Greeter", graph=GREETER)
    await offered_workflow(db, alice, name="not a tool")
    # The owner offers it as a tool through the workflow API.
    async with httpx.AsyncClient(base_url=base_url, headers=alice.headers, timeout=30) as http:
        changed = await http.patch(f"/api/v1/workflows/{greeter.id}", json={"mcp_tool": True})
    assert changed.status_code == 200
    assert changed.json()["mcp_tool"] is True

    async with mcp_client(base_url, alice) as client:
        (tool,) = (await client.list_tools()).tools
        assert tool.name == f"greeter_{greeter.id.hex[:8]}"
        assert tool.description == "Greeter: says back what it is given"
        assert tool.input_schema == SCHEMA

        result = await client.call_tool(tool.name, {"text": "world"})
        assert not result.is_error
        assert "echo: hello world" in text_of(result)

        refused = await client.call_tool(tool.name, {"wrong": 1})
        assert refused.is_error
        assert "text" in text_of(refused)

    (run,) = await executions_of(db, greeter.id)  # only the valid call started a run
    assert run.status == "completed"
    assert run.input == {"text": "world"}


async def test_failures_are_tool_errors_and_other_users_tools_never_appear(
    base_url: str, db: Database, settings: Settings
) -> None:
    alice, mallory = await new_user(db, settings), await new_user(db, settings)
    failing = chain_graph(("input", {}), ("agent", {"model": "test:fail", "prompt": "x"}))
    broken = await offered_workflow(db, alice, name="broken", graph=failing, mcp_tool=True)
    async with db.transaction() as session:
        row = await session.get(models.Workflow, broken.id)
        assert row is not None
        row.is_public = True  # public, still not offered to others

    async with mcp_client(base_url, alice) as client:
        result = await client.call_tool(f"broken_{broken.id.hex[:8]}", {})
    assert result.is_error
    (run,) = await executions_of(db, broken.id)
    assert run.status == "failed"
    assert str(run.id) in text_of(result)

    async with mcp_client(base_url, mallory) as client:
        assert (await client.list_tools()).tools == []
        stolen = await client.call_tool(f"broken_{broken.id.hex[:8]}", {})
    assert stolen.is_error
    assert len(await executions_of(db, broken.id)) == 1

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        anonymous: Any = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "x"})
    assert anonymous.status_code == 401
