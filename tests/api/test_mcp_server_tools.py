"""MCP servers as agent tools, end to end: saved on a node or a template, run by the
worker, the call kept on the node run (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from relayflow.config import Settings
from tests.api.conftest import SignedIn, template_body
from tests.conftest import TEST_CREDENTIALS_KEY, TEST_SECRET
from tests.support.execution_graphs import create_workflow, start
from tests.support.mcp_server import STDIO_ARGV, STDIO_CONNECT_TIMEOUT_S, LocalMcpServer
from tests.support.rows import chain_graph


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        credentials_key=TEST_CREDENTIALS_KEY,
        migrate_on_start=False,
        http_allowlist=["127.0.0.1:*"],
        mcp_stdio_servers={"calc": STDIO_ARGV},
        mcp_connect_timeout_s=STDIO_CONNECT_TIMEOUT_S,
    )


@pytest.fixture
async def mcp_http() -> AsyncIterator[LocalMcpServer]:
    async with LocalMcpServer() as server:
        yield server


def agent_graph(**agent: Any) -> dict[str, Any]:
    data = {"model": "test:echo", "prompt": '@tool add {"a": 20, "b": 22}', **agent}
    return chain_graph(
        ("input", {}), ("agent", data), ("output", {"value": "{{ nodes.n1.output }}"})
    )


async def run(client: httpx.AsyncClient, user: SignedIn, workflow_id: str) -> dict[str, Any]:
    started = await start(client, user.headers, workflow_id, {}, wait=30)
    detail: dict[str, Any] = (await client.get(started.json()["url"], headers=user.headers)).json()
    return detail


def agent_run(detail: dict[str, Any]) -> dict[str, Any]:
    [found] = [r for r in detail["node_runs"] if r["node_id"] == "n1"]
    return found


async def test_a_node_calls_an_http_mcp_server_with_a_credential_and_the_call_is_on_its_run(
    client: httpx.AsyncClient, alice: SignedIn, mcp_http: LocalMcpServer
) -> None:
    credential = await client.post(
        "/api/v1/credentials",
        json={"name": "mcp", "kind": "http_bearer", "value": "mcp-secret-123456"},
        headers=alice.headers,
    )
    assert credential.status_code == 201, credential.text
    server = {"name": "calc", "url": mcp_http.url, "credential_id": credential.json()["id"]}
    workflow_id = await create_workflow(client, alice.headers, agent_graph(mcp_servers=[server]))

    detail = await run(client, alice, workflow_id)

    assert detail["status"] == "completed", detail
    assert "add -> 42" in detail["output"]
    [call] = agent_run(detail)["tool_calls"]
    assert (call["tool"], call["kind"], call["server"]) == ("add", "mcp", "calc")
    assert (call["status"], call["result"]) == ("completed", 42)
    assert set(mcp_http.authorizations) == {"Bearer mcp-secret-123456"}
    assert "mcp-secret" not in str(detail)


async def test_a_template_lists_a_stdio_server_and_its_agents_use_it(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    servers = [{"name": "local", "stdio": "calc", "tools": ["add"]}]
    template = await client.post(
        "/api/v1/agent-templates",
        json=template_body(model="test:echo", parameters={"mcp_servers": servers}),
        headers=alice.headers,
    )
    assert template.status_code == 201, template.text
    graph = agent_graph(model=None, template_id=template.json()["id"])
    workflow_id = await create_workflow(client, alice.headers, graph)

    detail = await run(client, alice, workflow_id)

    assert detail["status"] == "completed", detail
    [call] = agent_run(detail)["tool_calls"]
    assert (call["server"], call["result"]) == ("local", 42)


async def test_a_down_server_fails_the_node_naming_it(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    async with LocalMcpServer() as gone:
        url = gone.url
    graph = agent_graph(mcp_servers=[{"name": "weather", "url": url}], retries=1, retry_backoff_s=0)
    workflow_id = await create_workflow(client, alice.headers, graph)

    detail = await run(client, alice, workflow_id)

    assert detail["status"] == "failed"
    attempts = [r for r in detail["node_runs"] if r["node_id"] == "n1"]
    assert len(attempts) == 2  # retryable: the node's retry applied
    assert all("MCP server 'weather': connecting failed" in r["error"] for r in attempts)


async def test_a_missing_tool_in_the_filter_fails_without_retrying(
    client: httpx.AsyncClient, alice: SignedIn, mcp_http: LocalMcpServer
) -> None:
    server = {"name": "calc", "url": mcp_http.url, "tools": ["divide"]}
    graph = agent_graph(mcp_servers=[server], retries=2, retry_backoff_s=0)
    workflow_id = await create_workflow(client, alice.headers, graph)

    detail = await run(client, alice, workflow_id)

    assert detail["status"] == "failed"
    [attempt] = [r for r in detail["node_runs"] if r["node_id"] == "n1"]
    assert "MCP server 'calc' has no tool named 'divide'" in attempt["error"]


async def test_another_users_credential_cannot_be_named(
    client: httpx.AsyncClient, alice: SignedIn, bob: SignedIn
) -> None:
    credential = await client.post(
        "/api/v1/credentials",
        json={"name": "mine", "kind": "http_bearer", "value": "bob-secret-123456"},
        headers=bob.headers,
    )
    server = {"name": "x", "url": "https://mcp.example.com/mcp"}
    server["credential_id"] = credential.json()["id"]
    on_node = await client.post(
        "/api/v1/workflows",
        json={"name": "f", **agent_graph(mcp_servers=[server])},
        headers=alice.headers,
    )
    on_template = await client.post(
        "/api/v1/agent-templates",
        json=template_body(parameters={"mcp_servers": [server]}),
        headers=alice.headers,
    )
    assert (on_node.status_code, on_template.status_code) == (404, 404)


async def test_bad_mcp_servers_are_refused_at_save_naming_the_field(
    client: httpx.AsyncClient, alice: SignedIn
) -> None:
    cases = [
        ({"name": "a", "url": "file:///etc/passwd"}, "data.mcp_servers[0].url"),
        ({"name": "a", "stdio": "bash"}, "data.mcp_servers[0].stdio"),
        ({"name": "a", "url": "http://x", "stdio": "calc"}, "data.mcp_servers[0]"),
    ]
    for server, field in cases:
        response = await client.post(
            "/api/v1/workflows",
            json={"name": "f", **agent_graph(mcp_servers=[server])},
            headers=alice.headers,
        )
        assert response.status_code == 422, response.text
        assert field in [d["field"] for d in response.json()["error"]["details"]], response.text

    template = await client.post(
        "/api/v1/agent-templates",
        json=template_body(parameters={"mcp_servers": [{"name": "x", "stdio": "sh -c id"}]}),
        headers=alice.headers,
    )
    assert template.status_code == 422
    fields = [d["field"] for d in template.json()["error"]["details"]]
    assert fields == ["parameters.mcp_servers[0].stdio"]
