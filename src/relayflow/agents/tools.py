"""The tools an agent may call: HTTP requests, colleagues (delegates), sub-workflows
(MCP servers' tools are in `mcp_servers.py`).

Each tool call is logged (for the node's record and as `agent.tool_call`
events: one when it starts, one when it ends).

- HTTP tools go through the network guard with the installation's allowlist.
  `{name}` placeholders in the URL are filled from the arguments; the other
  arguments become the query string (GET, HEAD, DELETE) or the JSON body. A
  refused address fails the node (it is a configuration or prompt-injection
  problem a person must see); other HTTP failures are reported to the model.
- Delegates are `ask_<name>` tools: the colleague's own agent answers the
  question (see the runner for depth limits).
- Sub-workflow tools run a workflow with the given input and return its output.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from pydantic_ai import Tool, ToolFailed

from relayflow import errors
from relayflow.agents.offline import tool_slug
from relayflow.engine.ports import (
    AgentEventSink,
    AgentProfile,
    HttpToolSpec,
    SubworkflowCaller,
    SubworkflowToolSpec,
)
from relayflow.netguard import BlockedAddress, HttpRequestFailed, guarded_request

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PLACEHOLDER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
QUERY_METHODS = frozenset({"GET", "HEAD", "DELETE"})
MAX_RESULT_CHARS = 20_000  # what goes back to the model
MAX_RECORDED_CHARS = 2_000  # what the node's record keeps per call
HTTP_TOOL_TIMEOUT_S = 30.0
MAX_HTTP_TOOL_BYTES = 2 * 1024 * 1024


@dataclass
class ToolCallLog:
    """Tool calls of one agent request, in call order, with live events."""

    node_id: str
    on_event: AgentEventSink | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def call(
        self,
        agent: str,
        tool: str,
        kind: str,
        args: Mapping[str, Any],
        body: Callable[[], Awaitable[Any]],
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> Any:
        record: dict[str, Any] = {"agent": agent, "tool": tool, "kind": kind, **(extra or {})}
        record["args"] = dict(args)
        self.calls.append(record)
        await self._emit({**record, "status": "started"})
        started = time.perf_counter()
        try:
            result = await body()
        except BaseException as exc:
            record.update(status="failed", error=str(exc) or type(exc).__name__)
            raise
        else:
            record.update(status="completed", result=_clip(result, MAX_RECORDED_CHARS))
            return result
        finally:
            record["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
            await self._emit({k: v for k, v in record.items() if k != "args"})

    async def _emit(self, payload: Mapping[str, Any]) -> None:
        if self.on_event is not None:
            await self.on_event("agent.tool_call", {"node_id": self.node_id, **payload})


def check_tool_names(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if not TOOL_NAME.match(name):
            raise errors.InvalidInput(
                f"tool name {name!r} must be 1-64 letters, digits, '_' or '-'"
            )
        if name in seen:
            raise errors.InvalidInput(f"two tools are named {name!r}")
        seen.add(name)


# ----------------------------------------------------------------- HTTP tools
def http_tool(
    spec: HttpToolSpec,
    *,
    agent: str,
    log: ToolCallLog,
    client: Callable[[], httpx.AsyncClient],
    allowlist: list[str],
) -> Tool[Any]:
    placeholders = PLACEHOLDER.findall(spec.url)
    method = spec.method.upper()

    async def call_http(**args: Any) -> Any:
        async def send() -> Any:
            url, rest = _fill_url(spec.url, args)
            if method in QUERY_METHODS:
                url = str(httpx.URL(url).copy_merge_params(_query(rest)))
                body = None
            else:
                body = rest
            headers = dict(spec.headers)
            if spec.auth is not None:  # the tool's credential, never shown to the model
                headers.update(spec.auth.headers)
                url = str(httpx.URL(url).copy_merge_params(dict(spec.auth.params)))
            try:
                response = await guarded_request(
                    client(),
                    method,
                    url,
                    headers=headers,
                    json=body,
                    timeout_s=HTTP_TOOL_TIMEOUT_S,
                    allowlist=allowlist,
                    max_response_bytes=MAX_HTTP_TOOL_BYTES,
                )
            except BlockedAddress as exc:
                raise errors.NodeFailed(f"tool {spec.name!r}: {exc.message}") from exc
            except (HttpRequestFailed, errors.InvalidInput) as exc:
                raise ToolFailed(f"the request failed: {exc.message}") from exc
            return {
                "status": response.status_code,
                "body": _clip(response.json_or_text(), MAX_RESULT_CHARS),
            }

        return await log.call(agent, spec.name, "http", args, send)

    return Tool.from_schema(
        call_http,
        name=spec.name,
        description=spec.description or f"{method} {spec.url}",
        json_schema=_http_schema(spec, placeholders),
    )


def _http_schema(spec: HttpToolSpec, placeholders: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = (
        json.loads(json.dumps(spec.body_schema))
        if spec.body_schema
        else {"type": "object", "additionalProperties": True}
    )
    if placeholders:
        properties = schema.setdefault("properties", {})
        for name in placeholders:
            properties.setdefault(name, {"type": "string", "description": f"URL part {{{name}}}"})
        required = schema.setdefault("required", [])
        required += [p for p in placeholders if p not in required]
    return schema


def _fill_url(template: str, args: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    rest = dict(args)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in rest:
            raise ToolFailed(f"missing argument {name!r} for the URL")
        return quote(str(rest.pop(name)), safe="")

    return PLACEHOLDER.sub(substitute, template), rest


def _query(args: Mapping[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in args.items()}


# ----------------------------------------------------------------- delegates
DELEGATE_SCHEMA = {
    "type": "object",
    "properties": {
        "question": {
            "type": "string",
            "description": "What to ask, with all the context they need to answer.",
        }
    },
    "required": ["question"],
}


def delegate_tool_name(profile: AgentProfile) -> str:
    return f"ask_{tool_slug(profile.name)}"[:64]


def delegate_tool(
    profile: AgentProfile,
    *,
    agent: str,
    log: ToolCallLog,
    ask: Callable[[AgentProfile, str], Awaitable[str]],
) -> Tool[Any]:
    name = delegate_tool_name(profile)

    async def call_delegate(question: str) -> str:
        answer = await log.call(
            agent, name, "delegate", {"question": question}, lambda: ask(profile, question)
        )
        return str(answer)

    return Tool.from_schema(
        call_delegate,
        name=name,
        description=f"Ask your colleague {profile.name} ({profile.role}) and get their answer.",
        json_schema=DELEGATE_SCHEMA,
    )


# ----------------------------------------------------------------- sub-workflows
SUBWORKFLOW_SCHEMA = {
    "type": "object",
    "properties": {"input": {"description": "The workflow's input: any JSON value."}},
    "required": ["input"],
}


def subworkflow_tool(
    spec: SubworkflowToolSpec, *, agent: str, log: ToolCallLog, run: SubworkflowCaller
) -> Tool[Any]:
    async def call_subworkflow(input: Any) -> Any:
        async def execute() -> Any:
            return _clip(await run(spec.workflow_id, input), MAX_RESULT_CHARS)

        return await log.call(agent, spec.name, "subworkflow", {"input": input}, execute)

    return Tool.from_schema(
        call_subworkflow,
        name=spec.name,
        description=spec.description or f"Run workflow {spec.workflow_id} with an input.",
        json_schema=SUBWORKFLOW_SCHEMA,
    )


def _clip(value: Any, limit: int) -> Any:
    """`value` as is when small, else its JSON text cut to `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= limit:
        return value
    return text[:limit] + f"... [truncated, {len(text)} characters in all]"
