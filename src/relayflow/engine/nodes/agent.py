"""`agent`: one LLM agent turn through the `AgentRunner`.

The node's template (from the `TemplateCatalog`) gives the defaults; the node's
`model`, `role`, `system_prompt` and `parameters` override them (parameters are
merged key by key). `prompt` and `system_prompt` are templates. `tools` are HTTP
tools, `delegates` are other agent templates the agent may ask (the supervisor
pattern), `workflows` are sub-workflows offered as tools, `mcp_servers` are MCP
servers whose tools the agent may call (the template's, in its parameters, unless
the node lists its own). With `output_schema`
the output is a JSON value checked against it.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any

from relayflow.engine.naming import tool_call_key
from relayflow.engine.nodes.base import NodeContext, NodeOutcome, child_result
from relayflow.engine.ports import (
    AgentProfile,
    AgentRequest,
    HttpAuth,
    HttpToolSpec,
    McpServerSpec,
    SubworkflowToolSpec,
)
from relayflow.engine.spec import AgentData, McpServerData
from relayflow.errors import InvalidInput, NodeFailed, NotFound
from relayflow.input_schema import schema_problems, summary


async def load_profile(ctx: NodeContext, template_id: str, field_name: str) -> AgentProfile:
    profile = await ctx.templates.get_profile(template_id)
    if profile is None:
        raise NotFound(f"{ctx.where(field_name)}: agent template {template_id!r} not found")
    return profile


async def resolve_profile(ctx: NodeContext, data: AgentData) -> AgentProfile:
    """The template's profile with the node's overrides applied."""
    if data.template_id:
        base = await load_profile(ctx, data.template_id, "data.template_id")
    else:
        assert data.model is not None  # the spec requires a template or a model
        base = AgentProfile(id=None, name=data.label or ctx.node_id, role="assistant", model="")
    system_prompt = base.system_prompt
    if data.system_prompt is not None:
        system_prompt = await ctx.render_text(data.system_prompt, "data.system_prompt")
    parameters: Mapping[str, Any] = {**base.parameters, **data.parameters}
    return AgentProfile(
        id=base.id,
        name=base.name,
        role=data.role or base.role,
        model=data.model or base.model,
        system_prompt=system_prompt,
        parameters=parameters,
        credential_id=data.credential_id or base.credential_id,
    )


async def with_credential(ctx: NodeContext, profile: AgentProfile, field_name: str) -> AgentProfile:
    """The profile with its provider credential read for this run's user (if it names one)."""
    if not profile.credential_id:
        return profile
    source = ctx.credential_source(field_name)
    try:
        credential = await source.provider(profile.credential_id)
    except NotFound as exc:
        raise NodeFailed(f"{ctx.where(field_name)}: {exc.message} (or not yours)") from exc
    return dataclasses.replace(profile, credential=credential)


async def http_auth(
    ctx: NodeContext, credential_id: str | None, field_name: str
) -> HttpAuth | None:
    if not credential_id:
        return None
    try:
        return await ctx.credential_source(field_name).http_auth(credential_id)
    except NotFound as exc:
        raise NodeFailed(f"{ctx.where(field_name)}: {exc.message} (or not yours)") from exc


def template_mcp_servers(ctx: NodeContext, profile: AgentProfile) -> list[McpServerData]:
    """The MCP servers a template lists (in its parameters, checked when it was saved)."""
    raw = profile.parameters.get("mcp_servers")
    if not raw:
        return []
    try:
        return [McpServerData.model_validate(item) for item in raw]
    except (ValueError, TypeError) as exc:
        raise NodeFailed(
            f"{ctx.where('data.template_id')}: the template's mcp_servers are invalid: {exc}"
        ) from exc


async def mcp_server_specs(
    ctx: NodeContext, servers: list[McpServerData], field_prefix: str
) -> tuple[McpServerSpec, ...]:
    return tuple(
        [
            McpServerSpec(
                name=server.name,
                url=server.url,
                stdio=server.stdio,
                tools=tuple(server.tools) if server.tools is not None else None,
                auth=await http_auth(
                    ctx, server.credential_id, f"{field_prefix}[{index}].credential_id"
                ),
            )
            for index, server in enumerate(servers)
        ]
    )


def check_output(ctx: NodeContext, output: Any, schema: Mapping[str, Any] | None) -> None:
    if schema is None:
        return
    problems = schema_problems(schema, output, name="output")
    if problems:
        raise NodeFailed(
            f"{ctx.where('data.output_schema')}: the agent's answer does not match it: "
            + summary(problems),
            details=problems,
        )


async def run(ctx: NodeContext) -> NodeOutcome:
    data: AgentData = ctx.data
    profile = await resolve_profile(ctx, data)
    field_name = "data.credential_id" if data.credential_id else "data.template_id"
    profile = await with_credential(ctx, profile, field_name)
    prompt = await ctx.render_text(data.prompt, "data.prompt")
    delegates = tuple(
        [
            await with_credential(
                ctx,
                await load_profile(ctx, template_id, f"data.delegates[{index}]"),
                f"data.delegates[{index}]",
            )
            for index, template_id in enumerate(data.delegates)
        ]
    )
    http_tools = tuple(
        [
            HttpToolSpec(
                name=tool.name,
                description=tool.description,
                method=tool.method,
                url=tool.url,
                headers=tool.headers,
                body_schema=tool.body_schema,
                auth=await http_auth(ctx, tool.credential_id, f"data.tools[{index}].credential_id"),
            )
            for index, tool in enumerate(data.tools)
        ]
    )
    workflow_tools = tuple(
        SubworkflowToolSpec(name=t.name, description=t.description, workflow_id=t.workflow_id)
        for t in data.workflows
    )
    allowed_workflows = {t.workflow_id for t in data.workflows}
    calls = itertools.count(1)

    async def call_subworkflow(workflow_id: str, value: Any) -> Any:
        # Only the sub-workflows the node offers; each call is recorded under its own key.
        if workflow_id not in allowed_workflows:
            raise InvalidInput(f"{ctx.where('data.workflows')}: {workflow_id!r} is not offered")
        key = tool_call_key(ctx.node_id, next(calls))
        outcome = await ctx.run_child(workflow_id, value, key)
        return child_result(outcome, f"sub-workflow {workflow_id!r}").output

    # The node's MCP servers replace the template's (kept in its parameters).
    if data.mcp_servers:
        mcp_servers = await mcp_server_specs(ctx, data.mcp_servers, "data.mcp_servers")
    else:
        mcp_servers = await mcp_server_specs(
            ctx, template_mcp_servers(ctx, profile), "data.template_id.mcp_servers"
        )
    # A template may carry its output schema in its parameters (the seeded extractor does).
    output_schema = data.output_schema or profile.parameters.get("output_schema")
    if {"output_schema", "mcp_servers"} & set(profile.parameters):
        parameters = {
            k: v for k, v in profile.parameters.items() if k not in ("output_schema", "mcp_servers")
        }
        profile = dataclasses.replace(profile, parameters=parameters)
    ctx.input = {"model": profile.model, "prompt": prompt}
    result = await ctx.agents.run(
        AgentRequest(
            node_id=ctx.node_id,
            profile=profile,
            prompt=prompt,
            output_schema=output_schema,
            http_tools=http_tools,
            delegates=delegates,
            subworkflow_tools=workflow_tools,
            call_subworkflow=call_subworkflow if workflow_tools else None,
            mcp_servers=mcp_servers,
            on_event=ctx.emit if ctx.events is not None else None,
            timeout_s=data.timeout_s,
        )
    )
    check_output(ctx, result.output, output_schema)
    return NodeOutcome(
        output=result.output,
        usage=result.usage,
        cost_usd=result.cost_usd,
        tool_calls=result.tool_calls,
    )
