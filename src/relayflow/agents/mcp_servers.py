"""MCP servers as an agent's tools (pydantic-ai's MCP client).

A node (or its template) lists servers: a streamable HTTP URL, or a stdio command
picked by name from the admin's `RELAYFLOW_MCP_STDIO_SERVERS`. For one agent request,
`open_servers` connects to each, lists its tools (keeping only those the spec
names) and yields the toolsets; they close when the request ends.

- HTTP servers go through the network guard: every request, redirects included,
  is checked and pinned to an allowed address (`GuardedTransport`), like HTTP tools.
  A credential's headers go with every request and are never logged.
- stdio servers start with the MCP SDK's minimal environment (no secrets from ours).
- Every tool call is recorded in the `ToolCallLog` (kind `mcp`, with the server).
- Failures name the server. Refused or timed-out connections and a server that dies
  are transient (`TransientAgentError`: node retries apply); a blocked address, an
  unknown stdio name, a filter naming a tool the server lacks are not
  (`McpServerRefused`, never retried).
  Errors the server reports for a tool call go back to the model.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from pydantic_ai import ModelRetry, RunContext, ToolFailed
from pydantic_ai.toolsets import AbstractToolset, ToolsetTool, WrapperToolset

from relayflow import errors
from relayflow.address_policy import AddressPolicy
from relayflow.agents.tools import ToolCallLog
from relayflow.config import Settings
from relayflow.engine.ports import McpServerSpec
from relayflow.netguard import DEFAULT_PORTS, resolve_allowed

MAX_REDIRECTS = 5


class McpServerRefused(errors.InvalidInput):
    """An MCP server that no retry can fix: a refused address, a stdio name not
    listed, a missing command, a tool filter naming a tool the server lacks."""

    code = "mcp_server_refused"


# ----------------------------------------------------------------- the network guard
class GuardedTransport(httpx2.AsyncBaseTransport):
    """Sends each request to a checked address of its host (redirects are new requests,
    so each hop is checked), with `Host` and TLS SNI still naming the host."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpx2.AsyncHTTPTransport(trust_env=False)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        host = url.host
        if url.scheme not in DEFAULT_PORTS or not host:
            raise errors.InvalidInput(f"only http and https URLs are allowed, got {url.scheme!r}")
        port = url.port or DEFAULT_PORTS[url.scheme]
        addresses = await resolve_allowed(host, port, self._policy)
        extensions = dict(request.extensions)
        if url.scheme == "https" and not _is_ip(host):
            extensions["sni_hostname"] = host
        last: httpx2.ConnectError | None = None
        for address in addresses:
            pinned = httpx2.Request(
                request.method,
                url.copy_with(host=str(address)),
                headers=request.headers,  # keeps Host: the name, not the address
                stream=request.stream,
                extensions=extensions,
            )
            try:
                return await self._inner.handle_async_request(pinned)
            except httpx2.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def aclose(self) -> None:
        await self._inner.aclose()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def guarded_client(settings: Settings, spec: McpServerSpec) -> httpx2.AsyncClient:
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    if spec.auth is not None:
        headers.update(spec.auth.headers)
        params.update(spec.auth.params)
    return httpx2.AsyncClient(
        transport=GuardedTransport(AddressPolicy.from_allowlist(settings.http_allowlist)),
        headers=headers,
        params=params,
        follow_redirects=True,  # Authorization is dropped when a redirect leaves the origin
        max_redirects=MAX_REDIRECTS,
        timeout=httpx2.Timeout(settings.mcp_call_timeout_s, connect=settings.mcp_connect_timeout_s),
        trust_env=False,  # an environment proxy would bypass the pinning
    )


# ----------------------------------------------------------------- errors
def _causes(exc: BaseException) -> list[BaseException]:
    """`exc`, its causes and contexts, and the members of exception groups, in order."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        current = stack.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return seen


def server_error(server: str, doing: str, exc: BaseException) -> errors.RelayflowError:
    """The error a failed connection or call raises: permanent (`McpServerRefused`) for a
    refused address or a command that does not exist, transient otherwise (refused,
    timed out, hung up)."""
    chain = _causes(exc)
    for cause in chain:
        if isinstance(cause, errors.InvalidInput | errors.ConfigError):
            return McpServerRefused(f"MCP server {server!r}: {cause.message}")
        if isinstance(cause, FileNotFoundError | PermissionError):
            return McpServerRefused(f"MCP server {server!r} could not start: {cause}")
    detail = "; ".join(dict.fromkeys(str(c) or type(c).__name__ for c in chain[:4]))
    if any(isinstance(c, TimeoutError | httpx2.TimeoutException) for c in chain):
        detail = f"timed out ({detail})"
    return errors.TransientAgentError(f"MCP server {server!r}: {doing} failed: {detail}")


# ----------------------------------------------------------------- the toolset
@dataclass
class RecordedMcpTools(WrapperToolset[Any]):
    """One server's tools, filtered to the spec's names, each call recorded and bounded."""

    server: str = ""
    keep: tuple[str, ...] | None = None
    agent: str = ""
    log: ToolCallLog | None = None
    call_timeout_s: float = 60.0

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        found = await self.wrapped.get_tools(ctx)
        if self.keep is None:
            return found
        return {name: tool for name, tool in found.items() if name in self.keep}

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        async def call() -> Any:
            try:
                async with asyncio.timeout(self.call_timeout_s):
                    return await self.wrapped.call_tool(name, tool_args, ctx, tool)
            except (ToolFailed, ModelRetry, errors.RelayflowError):
                raise  # the server's own tool errors go back to the model
            except Exception as exc:
                raise server_error(self.server, f"calling {name!r}", exc) from exc

        assert self.log is not None
        return await self.log.call(
            self.agent, name, "mcp", tool_args, call, extra={"server": self.server}
        )


def _toolset(settings: Settings, spec: McpServerSpec, client: httpx2.AsyncClient | None) -> Any:
    common: dict[str, Any] = {
        "id": f"mcp_{spec.name}",
        "tool_error_behavior": "failed",
        "init_timeout": settings.mcp_connect_timeout_s,
        "read_timeout": settings.mcp_call_timeout_s,
    }
    # Imported here: the MCP client library takes a second to import, and most
    # processes (and agents) never need it.
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai.mcp import MCPToolset

    if spec.url is not None:
        return MCPToolset(spec.url, http_client=client, **common)

    argv = settings.mcp_stdio_servers.get(spec.stdio or "")
    if not argv:
        raise McpServerRefused(
            f"MCP server {spec.name!r}: stdio server {spec.stdio!r} is not in "
            "RELAYFLOW_MCP_STDIO_SERVERS"
        )
    # env=None: the SDK passes only a minimal environment (PATH, HOME...), none of our secrets.
    return MCPToolset(
        StdioTransport(command=argv[0], args=list(argv[1:]), keep_alive=False), **common
    )


@asynccontextmanager
async def open_servers(
    specs: tuple[McpServerSpec, ...],
    *,
    settings: Settings,
    agent: str,
    log: ToolCallLog,
) -> AsyncIterator[list[AbstractToolset[Any]]]:
    """Connected toolsets for `specs` (empty when there are none), closed on exit."""
    if len(specs) > settings.mcp_max_servers_per_agent:
        raise McpServerRefused(
            f"agent {agent!r} lists {len(specs)} MCP servers; at most "
            f"{settings.mcp_max_servers_per_agent} (RELAYFLOW_MCP_MAX_SERVERS_PER_AGENT)"
        )
    async with AsyncExitStack() as stack:
        toolsets: list[AbstractToolset[Any]] = []
        for spec in specs:
            client = None
            if spec.url is not None:
                client = await stack.enter_async_context(guarded_client(settings, spec))
            inner = _toolset(settings, spec, client)
            await _connect(stack, inner, spec, settings)
            toolsets.append(
                RecordedMcpTools(
                    inner,
                    server=spec.name,
                    keep=spec.tools,
                    agent=agent,
                    log=log,
                    call_timeout_s=settings.mcp_call_timeout_s,
                )
            )
        yield toolsets


async def _connect(
    stack: AsyncExitStack, toolset: Any, spec: McpServerSpec, settings: Settings
) -> None:
    try:
        async with asyncio.timeout(settings.mcp_connect_timeout_s + settings.mcp_call_timeout_s):
            await stack.enter_async_context(toolset)
            offered = {tool.name for tool in await toolset.list_tools()}
    except Exception as exc:
        raise server_error(spec.name, "connecting", exc) from exc
    missing = [name for name in spec.tools or () if name not in offered]
    if missing:
        raise McpServerRefused(
            f"MCP server {spec.name!r} has no tool named {', '.join(map(repr, missing))} "
            f"(it offers {', '.join(sorted(offered)) or 'none'})"
        )
