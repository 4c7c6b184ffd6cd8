"""MCP servers as agent tools: a real MCP server (tests/support/mcp_server.py) over
streamable HTTP on 127.0.0.1 and over stdio, called through the offline model and
through the fake OpenAI server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from relayflow import errors
from relayflow.agents import mcp_servers
from relayflow.agents.runner import ModelAgentRunner
from relayflow.config import Settings
from relayflow.engine.ports import AgentProfile, AgentRequest, HttpAuth, McpServerSpec
from relayflow.netguard import BlockedAddress
from tests.agents.conftest import SettingsFactory
from tests.support.fake_openai import API_KEY, FakeOpenAI
from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply
from tests.support.mcp_server import STDIO_ARGV, STDIO_CONNECT_TIMEOUT_S, LocalMcpServer

OFFLINE = AgentProfile(id=None, name="Calc", role="calculator", model="test:echo")
WIRED = AgentProfile(id=None, name="Calc", role="calculator", model="openai:gpt-4o-mini")
LOOPBACK = ["127.0.0.1:*"]


@pytest.fixture
async def mcp_http() -> AsyncIterator[LocalMcpServer]:
    async with LocalMcpServer() as server:
        yield server


def ask(profile: AgentProfile, prompt: str, *servers: McpServerSpec) -> AgentRequest:
    return AgentRequest(node_id="n1", profile=profile, prompt=prompt, mcp_servers=servers)


async def run(settings: Settings, request: AgentRequest) -> Any:
    runner = ModelAgentRunner(settings)
    try:
        return await runner.run(request)
    finally:
        await runner.aclose()


def wired(make_settings: SettingsFactory, fake_openai: FakeOpenAI, **kw: Any) -> Settings:
    return make_settings(openai_api_key=API_KEY, openai_base_url=fake_openai.base_url, **kw)


# ----------------------------------------------------------------- HTTP
async def test_the_offline_model_calls_an_http_mcp_servers_tool_and_the_call_is_recorded(
    make_settings: SettingsFactory, mcp_http: LocalMcpServer
) -> None:
    server = McpServerSpec(name="calc", url=mcp_http.url)
    settings = make_settings(http_allowlist=LOOPBACK)

    result = await run(settings, ask(OFFLINE, 'Sum it\n@tool add {"a": 2, "b": 3}', server))

    assert "add -> 5" in result.output
    [call] = result.tool_calls
    assert call["tool"] == "add"
    assert call["kind"] == "mcp"
    assert call["server"] == "calc"
    assert call["args"] == {"a": 2, "b": 3}
    assert call["status"] == "completed"
    assert call["result"] == 5


async def test_the_model_on_the_wire_sees_only_the_filtered_tools_and_gets_the_result(
    make_settings: SettingsFactory, fake_openai: FakeOpenAI, mcp_http: LocalMcpServer
) -> None:
    server = McpServerSpec(name="calc", url=mcp_http.url, tools=("shout",))
    fake_openai.reply_tool_calls(("shout", {"text": "hello"}))
    fake_openai.reply_text("It said HELLO.")

    result = await run(
        wired(make_settings, fake_openai, http_allowlist=LOOPBACK), ask(WIRED, "Shout", server)
    )

    assert result.output == "It said HELLO."
    offered = [t["function"]["name"] for t in fake_openai.bodies[0]["tools"]]
    assert offered == ["shout"]
    assert "HELLO" in fake_openai.bodies[1]["messages"][-1]["content"]
    [call] = result.tool_calls
    assert (call["tool"], call["server"], call["result"]) == ("shout", "calc", "HELLO")


async def test_a_credential_goes_as_a_header_and_is_not_recorded(
    make_settings: SettingsFactory, mcp_http: LocalMcpServer
) -> None:
    auth = HttpAuth(headers={"Authorization": "Bearer s3cret-token"})
    server = McpServerSpec(name="calc", url=mcp_http.url, auth=auth)

    result = await run(
        make_settings(http_allowlist=LOOPBACK),
        ask(OFFLINE, '@tool add {"a": 1, "b": 1}', server),
    )

    assert mcp_http.authorizations
    assert set(mcp_http.authorizations) == {"Bearer s3cret-token"}
    assert "s3cret" not in repr(result.tool_calls)
    assert "s3cret" not in repr(server)


# ----------------------------------------------------------------- stdio
async def test_a_listed_stdio_server_is_started_and_its_tool_called(
    make_settings: SettingsFactory, fake_openai: FakeOpenAI
) -> None:
    settings = wired(
        make_settings,
        fake_openai,
        mcp_stdio_servers={"calc": STDIO_ARGV},
        mcp_connect_timeout_s=STDIO_CONNECT_TIMEOUT_S,
    )
    server = McpServerSpec(name="local", stdio="calc")
    fake_openai.reply_tool_calls(("add", {"a": 40, "b": 2}))
    fake_openai.reply_text("42")

    offline = await run(settings, ask(OFFLINE, '@tool shout {"text": "quiet"}', server))
    on_the_wire = await run(settings, ask(WIRED, "Add", server))

    assert "shout -> QUIET" in offline.output
    assert on_the_wire.output == "42"
    assert [c["result"] for c in on_the_wire.tool_calls] == [42]
    assert {c["server"] for c in (*offline.tool_calls, *on_the_wire.tool_calls)} == {"local"}


async def test_a_stdio_server_does_not_inherit_our_secrets(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAYFLOW_JWT_SECRET", "do-not-leak-" + "x" * 32)
    settings = make_settings(
        mcp_stdio_servers={"calc": STDIO_ARGV}, mcp_connect_timeout_s=STDIO_CONNECT_TIMEOUT_S
    )
    server = McpServerSpec(name="local", stdio="calc")

    result = await run(settings, ask(OFFLINE, '@tool env {"name": "RELAYFLOW_JWT_SECRET"}', server))

    [call] = result.tool_calls
    assert (call["status"], call["result"]) == ("completed", "")


async def test_an_unlisted_stdio_name_fails_the_node_for_good(
    make_settings: SettingsFactory,
) -> None:
    server = McpServerSpec(name="local", stdio="rm-everything")
    with pytest.raises(
        mcp_servers.McpServerRefused, match=r"'rm-everything' is not in RELAYFLOW_MCP_STDIO"
    ):
        await run(make_settings(), ask(OFFLINE, "hi", server))


# ----------------------------------------------------------------- failures
async def test_a_down_server_fails_the_node_with_a_retryable_error_naming_it(
    make_settings: SettingsFactory,
) -> None:
    async def nothing(request: ReceivedRequest) -> Reply:
        return Reply.json({})

    async with LocalHttpServer(nothing) as gone:
        url = gone.url("/mcp")  # the port is free again once the server stopped
    server = McpServerSpec(name="weather", url=url)

    with pytest.raises(errors.TransientAgentError, match=r"MCP server 'weather': connecting"):
        await run(make_settings(http_allowlist=LOOPBACK), ask(OFFLINE, "hi", server))


async def test_a_filter_naming_a_missing_tool_fails_the_node_for_good(
    make_settings: SettingsFactory, mcp_http: LocalMcpServer
) -> None:
    server = McpServerSpec(name="calc", url=mcp_http.url, tools=("add", "divide"))
    with pytest.raises(mcp_servers.McpServerRefused, match=r"'calc' has no tool named 'divide'"):
        await run(make_settings(http_allowlist=LOOPBACK), ask(OFFLINE, "hi", server))


async def test_a_private_address_is_refused_by_default(
    make_settings: SettingsFactory, mcp_http: LocalMcpServer
) -> None:
    server = McpServerSpec(name="calc", url=mcp_http.url)
    with pytest.raises(
        mcp_servers.McpServerRefused, match=r"MCP server 'calc': refusing to connect"
    ):
        await run(make_settings(), ask(OFFLINE, "hi", server))
    assert mcp_http.authorizations == []  # nothing reached it


async def test_a_redirect_to_a_refused_address_is_refused(
    make_settings: SettingsFactory, mcp_http: LocalMcpServer
) -> None:
    async def redirect(request: ReceivedRequest) -> Reply:
        return Reply.json({}, status=307, headers={"Location": mcp_http.url})

    async with LocalHttpServer(redirect) as hop:
        # Only the redirecting server's port is allowed, not the MCP server's.
        settings = make_settings(http_allowlist=[f"127.0.0.1:{hop.port}"])
        server = McpServerSpec(name="calc", url=hop.url("/mcp"))
        # The MCP client does not follow redirects at all...
        with pytest.raises(errors.RelayflowError, match=r"MCP server 'calc'.*Redirect"):
            await run(settings, ask(OFFLINE, "hi", server))
        # ...and the guarded client checks every hop when one is followed.
        async with mcp_servers.guarded_client(settings, server) as client:
            with pytest.raises(BlockedAddress, match="refusing to connect"):
                await client.post(server.url or "", json={})
    assert mcp_http.authorizations == []


async def test_too_many_servers_fail_naming_the_setting(make_settings: SettingsFactory) -> None:
    servers = [McpServerSpec(name=f"s{i}", url=f"http://127.0.0.1:9/{i}") for i in range(3)]
    with pytest.raises(mcp_servers.McpServerRefused, match="RELAYFLOW_MCP_MAX_SERVERS_PER_AGENT"):
        await run(make_settings(mcp_max_servers_per_agent=2), ask(OFFLINE, "hi", *servers))
