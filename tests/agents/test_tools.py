"""Tool construction: HTTP tools' schemas and requests, names, the call log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from pydantic_ai import ToolFailed

from relayflow import errors
from relayflow.agents import tools
from relayflow.engine.ports import HttpToolSpec
from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply


async def echo_request(request: ReceivedRequest) -> Reply:
    return Reply.json(
        {
            "method": request.method,
            "target": request.target,
            "body": request.json() if request.body else None,
            "auth": request.headers.get("authorization"),
        }
    )


@pytest.fixture
async def api() -> AsyncIterator[LocalHttpServer]:
    async with LocalHttpServer(echo_request) as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


class Sink:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def __call__(self, kind: str, payload: Mapping[str, Any]) -> None:
        assert kind == "agent.tool_call"
        self.events.append(dict(payload))


async def test_a_post_tool_sends_its_arguments_as_json_with_its_headers(
    api: LocalHttpServer, client: httpx.AsyncClient
) -> None:
    spec = HttpToolSpec(
        name="create_ticket",
        description="Open a ticket",
        method="post",
        url=api.url("/projects/{project}/tickets"),
        headers={"Authorization": "Bearer t0k"},
        body_schema={"type": "object", "properties": {"title": {"type": "string"}}},
    )
    sink = Sink()
    log = tools.ToolCallLog("n1", sink)
    tool = tools.http_tool(
        spec, agent="Ops", log=log, client=lambda: client, allowlist=["127.0.0.1:*"]
    )
    assert tool.tool_def.parameters_json_schema["required"] == ["project"]

    result = await tool.function(project="a/b", title="Broken build")  # type: ignore[call-arg]

    assert result["status"] == 200
    assert result["body"] == {
        "method": "POST",
        "target": "/projects/a%2Fb/tickets",
        "body": {"title": "Broken build"},
        "auth": "Bearer t0k",
    }
    assert [e["status"] for e in sink.events] == ["started", "completed"]
    assert log.calls[0]["args"] == {"project": "a/b", "title": "Broken build"}


async def test_http_failures_go_back_to_the_model(client: httpx.AsyncClient) -> None:
    spec = HttpToolSpec(name="ping", description="", method="GET", url="http://127.0.0.1:9/")
    log = tools.ToolCallLog("n1")
    tool = tools.http_tool(
        spec, agent="Ops", log=log, client=lambda: client, allowlist=["127.0.0.1:*"]
    )
    with pytest.raises(ToolFailed, match="could not connect"):
        await tool.function()  # type: ignore[call-arg]
    assert log.calls[0]["status"] == "failed"


async def test_a_blocked_address_fails_the_node(client: httpx.AsyncClient) -> None:
    spec = HttpToolSpec(
        name="meta", description="", method="GET", url="http://169.254.169.254/latest/"
    )
    tool = tools.http_tool(
        spec, agent="Ops", log=tools.ToolCallLog("n1"), client=lambda: client, allowlist=[]
    )
    with pytest.raises(errors.NodeFailed, match=r"tool .meta.*cloud metadata"):
        await tool.function()  # type: ignore[call-arg]


def test_tool_names_are_checked() -> None:
    tools.check_tool_names(["ask_writer", "fetch-page"])
    with pytest.raises(errors.InvalidInput, match="two tools are named 'fetch'"):
        tools.check_tool_names(["fetch", "fetch"])
    with pytest.raises(errors.InvalidInput, match="'get weather' must be"):
        tools.check_tool_names(["get weather"])


def test_large_results_are_clipped_for_the_model() -> None:
    clipped = tools._clip("x" * 50, 10)
    assert clipped.startswith("x" * 10)
    assert "50 characters in all" in clipped
    assert tools._clip({"a": 1}, 10) == {"a": 1}
