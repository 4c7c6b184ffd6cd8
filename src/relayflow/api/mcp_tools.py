"""Workflows as MCP tools: relayflow serves MCP (streamable HTTP) at `/mcp`.

Each of the caller's own workflows marked `mcp_tool` is one tool: its name is
the workflow's name made tool-safe plus the start of its id (unique, stable),
its description the workflow's, its input schema the input node's. A call runs
the workflow through the normal start path and answers with its output, or with
the error as a tool error. The run is queued durably before the wait, so a client
that disconnects loses nothing: the run finishes and stays in the history.

Requests carry the same bearer token as the rest of the API; the token is
checked before any MCP message is read (a 401 otherwise).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from relayflow import __version__, errors
from relayflow.api.auth import actor_of, needs, resolve_user
from relayflow.api.errors import error_body
from relayflow.api.state import AppState
from relayflow.api.workflow_calls import output_text, run_and_wait
from relayflow.domain import Actor, TokenScope
from relayflow.input_schema import check_input, input_schema_of
from relayflow.store import workflows
from relayflow.store.models import Workflow

MCP_PATH = "/mcp"
ACTOR_KEY = "relayflow.actor"  # where the checked caller travels in the ASGI scope
# What a personal API token needs for `/mcp` (listing and calling tools starts runs).
MCP_SCOPE = type("McpScope", (), {"openapi_extra": needs(TokenScope.RUN_START)})()
ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}


def tool_name(workflow: Workflow) -> str:
    """`[a-z0-9_]` from the name, then the id's first 8 hex digits (MCP allows 64 characters)."""
    slug = re.sub(r"[^a-z0-9]+", "_", workflow.name.lower()).strip("_")[:48] or "workflow"
    return f"{slug}_{workflow.id.hex[:8]}"


def tool_of(workflow: Workflow) -> types.Tool:
    schema = input_schema_of(workflow.nodes)
    object_schema = schema is not None and schema.get("type") == "object"
    return types.Tool(
        name=tool_name(workflow),
        title=workflow.name,
        description=workflow.description or f"Runs the relayflow workflow {workflow.name!r}.",
        input_schema=dict(schema) if object_schema and schema is not None else ANY_OBJECT,
    )


def _actor(ctx: ServerRequestContext[Any, Any]) -> Actor:
    request = ctx.request
    actor = getattr(request, "scope", {}).get(ACTOR_KEY) if request is not None else None
    if not isinstance(actor, Actor):
        raise errors.Unauthorized("sign in first: send an `Authorization: Bearer <token>` header")
    return actor


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], is_error=True
    )


def _progress_to(ctx: ServerRequestContext[Any, Any]) -> Any:
    """MCP progress notifications for the call (sent only if the client gave a token)."""

    async def report(done: int, total: int | None, message: str) -> None:
        try:
            await ctx.session.report_progress(done, total, message)
        except Exception:
            return

    return report


def build_server(state: AppState) -> Server[Any]:
    async def offered(actor: Actor) -> list[Workflow]:
        async with state.db.session() as session:
            return await workflows.offered_workflows(session, actor, mcp_tool=True)

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[tool_of(w) for w in await offered(_actor(ctx))])

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        actor = _actor(ctx)
        found = [w for w in await offered(actor) if tool_name(w) == params.name]
        if not found:
            return error_result(f"no tool named {params.name!r}")
        workflow = found[0]
        arguments = dict(params.arguments or {})
        try:
            schema = input_schema_of(workflow.nodes)
            if schema is not None:
                check_input(schema, arguments)
            execution = await run_and_wait(
                state,
                actor,
                workflow.id,
                arguments,
                on_progress=_progress_to(ctx),
                node_count=len(workflow.nodes) if isinstance(workflow.nodes, list) else None,
            )
        except errors.RelayflowError as exc:
            details = f" {exc.details}" if exc.details else ""
            return error_result(f"{exc.message}{details}")
        structured = execution.output if isinstance(execution.output, dict) else None
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=output_text(execution.output))],
            structured_content=structured,
        )

    return Server(
        "relayflow",
        version=__version__,
        instructions="Each tool runs one of your relayflow workflows and answers with its output.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


class McpEndpoint:
    """The ASGI endpoint at `/mcp`: checks the bearer token, then hands over to MCP."""

    def __init__(self) -> None:
        self.manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self, state: AppState) -> AsyncIterator[None]:
        # Stateless: every request stands alone, so any process behind a balancer answers.
        manager = StreamableHTTPSessionManager(
            build_server(state), stateless=True, json_response=False
        )
        ready, stop = asyncio.Event(), asyncio.Event()

        # The manager's task group lives in a task of its own: an app's lifespan may be
        # entered and left from different tasks, which an anyio scope does not allow.
        async def hold() -> None:
            async with manager.run():
                ready.set()
                await stop.wait()

        holder = asyncio.create_task(hold(), name="mcp-session-manager")
        ready_wait = asyncio.create_task(ready.wait())
        await asyncio.wait({holder, ready_wait}, return_when=asyncio.FIRST_COMPLETED)
        if holder.done():
            ready_wait.cancel()
            holder.result()  # raises what stopped it
        self.manager = manager
        try:
            yield
        finally:
            self.manager = None
            stop.set()
            await holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: AppState = scope["app"].state.relayflow
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        try:
            async with state.db.session() as session:
                actor = actor_of(await resolve_user(state, session, token, MCP_SCOPE))
        except (errors.Unauthorized, errors.Forbidden) as exc:
            status = 401 if isinstance(exc, errors.Unauthorized) else 403
            answer = JSONResponse(
                error_body(exc.code, exc.message),
                status_code=status,
                headers={"WWW-Authenticate": "Bearer"} if status == 401 else None,
            )
            await answer(scope, receive, send)
            return
        if self.manager is None:
            raise errors.ConfigError("the MCP endpoint is not running")
        await self.manager.handle_request({**scope, ACTOR_KEY: actor}, receive, send)
