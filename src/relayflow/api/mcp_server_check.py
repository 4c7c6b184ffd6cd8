"""The check at save of the MCP servers an agent node or template lists.

The shape (one of url or stdio, an http(s) URL, distinct names) is the engine
spec's (`McpServerData`); here, what depends on the installation: a stdio server
must be one the admin listed (`RELAYFLOW_MCP_STDIO_SERVERS`), and an agent lists
at most `RELAYFLOW_MCP_MAX_SERVERS_PER_AGENT`. Problems name the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.config import Settings
from relayflow.credential_kinds import HTTP_KINDS
from relayflow.domain import Actor
from relayflow.engine.spec import McpServerData
from relayflow.store import credentials


def setting_problems(raw: Any, settings: Settings, field: str) -> list[tuple[str, str]]:
    """`(field, message)` for each listed server the installation does not allow."""
    if not isinstance(raw, list):
        return []
    problems: list[tuple[str, str]] = []
    if len(raw) > settings.mcp_max_servers_per_agent:
        problems.append(
            (
                field,
                f"at most {settings.mcp_max_servers_per_agent} MCP servers per agent "
                "(RELAYFLOW_MCP_MAX_SERVERS_PER_AGENT)",
            )
        )
    for index, server in enumerate(raw):
        stdio = server.get("stdio") if isinstance(server, dict) else None
        if isinstance(stdio, str) and stdio not in settings.mcp_stdio_servers:
            listed = ", ".join(sorted(settings.mcp_stdio_servers)) or "none"
            problems.append(
                (
                    f"{field}[{index}].stdio",
                    f"{stdio!r} is not a stdio MCP server the admin listed "
                    f"(RELAYFLOW_MCP_STDIO_SERVERS; listed: {listed})",
                )
            )
    return problems


async def check_template_servers(
    session: AsyncSession, actor: Actor, parameters: dict[str, Any] | None, settings: Settings
) -> None:
    """Raise InvalidInput naming each bad field of a template's `parameters.mcp_servers`,
    NotFound for a credential the saver may not use (like an unknown one)."""
    if not parameters or "mcp_servers" not in parameters:
        return
    field = "parameters.mcp_servers"
    raw = parameters["mcp_servers"]
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, list):
        problems.append((field, "must be a list of MCP servers"))
    else:
        for index, server in enumerate(raw):
            try:
                McpServerData.model_validate(server)
            except ValidationError as exc:
                for error in exc.errors():
                    where = ".".join(str(p) for p in error["loc"])
                    name = f"{field}[{index}]" + (f".{where}" if where else "")
                    problems.append((name, error["msg"].removeprefix("Value error, ")))
        names = [s.get("name") for s in raw if isinstance(s, dict)]
        if len(set(names)) != len(names):
            problems.append((field, "two MCP servers have the same name"))
        problems += setting_problems(raw, settings, field)
        refs = [
            (index, server["credential_id"])
            for index, server in enumerate(raw)
            if isinstance(server, dict) and isinstance(server.get("credential_id"), str)
        ]
        kinds = await credentials.usable_kinds(session, actor.user_id) if refs else {}
        for index, ref in refs:
            kind = kinds.get(ref)
            if kind is None and not actor.is_admin:
                raise errors.NotFound(f"credential {ref} not found")
            if kind is not None and kind not in HTTP_KINDS:
                problems.append(
                    (
                        f"{field}[{index}].credential_id",
                        f"a {kind.value} credential is not an HTTP auth credential",
                    )
                )
    if problems:
        summary = "; ".join(f"{f}: {m}" for f, m in problems[:5])
        raise errors.InvalidInput(
            f"invalid MCP servers: {summary}",
            details=[{"field": f, "message": m} for f, m in problems],
        )
