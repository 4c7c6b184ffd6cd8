"""The check at save of what a graph's nodes use: credentials, model providers, MCP servers.

A credential a node names must be one the saver may use (their own or a shared
one; admins: any): anything else is NotFound, exactly like an unknown id. Its kind
must suit the field (a provider credential for an agent, HTTP auth for a request),
and an agent's model must be runnable: a known provider, with a credential of that
provider or a server-wide key. Those are problems on the node (GraphInvalid).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.agents.models import ModelResolver
from relayflow.api.mcp_server_check import setting_problems
from relayflow.config import Settings
from relayflow.credential_kinds import HTTP_KINDS, PROVIDER_KINDS, CredentialKind
from relayflow.domain import Actor
from relayflow.store import credentials
from relayflow.store.models import Credential


async def _usable_kinds(session: AsyncSession, actor: Actor) -> dict[str, CredentialKind]:
    if not actor.is_admin:
        return await credentials.usable_kinds(session, actor.user_id)
    rows = await session.execute(select(Credential.id, Credential.kind))
    return {str(cid): CredentialKind(kind) for cid, kind in rows.all()}


def _problem(node_id: str, field: str, message: str) -> dict[str, Any]:
    return {"node_id": node_id, "edge_id": None, "field": field, "message": message}


async def check_references(
    session: AsyncSession, actor: Actor, settings: Settings, nodes: Any
) -> None:
    if not isinstance(nodes, list):
        return
    refs = list(credentials.references(nodes))
    kinds = await _usable_kinds(session, actor) if refs else {}
    for _node_id, _field, credential_id in refs:
        if credential_id not in kinds:
            raise errors.NotFound(f"credential {credential_id} not found")
    problems: list[dict[str, Any]] = []
    resolver = ModelResolver(settings)
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("data"), dict):
            continue
        node_id, data = str(node.get("id")), node["data"]
        picked = data.get("credential_id")
        kind = kinds.get(picked) if isinstance(picked, str) else None
        if node.get("type") == "agent":
            if kind is not None and kind not in PROVIDER_KINDS:
                problems.append(
                    _problem(
                        node_id,
                        "data.credential_id",
                        f"a {kind.value} credential is not a model provider credential",
                    )
                )
                continue
            model = data.get("model")
            if isinstance(model, str) and model:
                problem = resolver.check_model(model, kind.value if kind else None)
                if problem:
                    problems.append(_problem(node_id, "data.model", problem))
            for list_field in ("tools", "mcp_servers"):
                listed = data.get(list_field)
                for index, tool in enumerate(listed if isinstance(listed, list) else []):
                    tool_ref = tool.get("credential_id") if isinstance(tool, dict) else None
                    tool_kind = kinds.get(tool_ref) if isinstance(tool_ref, str) else None
                    if tool_kind is not None and tool_kind not in HTTP_KINDS:
                        problems.append(
                            _problem(
                                node_id,
                                f"data.{list_field}[{index}].credential_id",
                                f"a {tool_kind.value} credential is not an HTTP auth credential",
                            )
                        )
            for field, message in setting_problems(
                data.get("mcp_servers"), settings, "data.mcp_servers"
            ):
                problems.append(_problem(node_id, field, message))
        elif kind is not None and kind not in HTTP_KINDS:
            problems.append(
                _problem(
                    node_id,
                    "data.credential_id",
                    f"a {kind.value} credential is not an HTTP auth credential",
                )
            )
    if problems:
        summary = "; ".join(
            f"node {p['node_id']!r}: {p['field']}: {p['message']}" for p in problems[:5]
        )
        raise errors.GraphInvalid(f"the workflow graph is invalid: {summary}", details=problems)
