"""Pydantic models of a workflow graph in React Flow's own format.

A graph is `{"nodes": [{id, type, position, data}], "edges": [{id, source, target,
sourceHandle?, targetHandle?}]}`; keys React Flow adds (`width`, `selected`, ...)
are kept. Each node kind has a model for its `data`; every kind accepts `label`,
`retries`, `retry_backoff_s`, `timeout_s` and `max_iterations` (the last makes the
node a loop head: see `engine.executor`).

The data models also say where their templates, JSON Schemas, agent template ids
and outgoing handles are, so validation and the executor read one description.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TemplateMode = Literal["template", "expression"]
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True, slots=True)
class TemplateField:
    """A template string inside a node's data, with where it is (`data.prompt`)."""

    field: str
    source: str
    mode: TemplateMode = "template"
    extra_names: frozenset[str] = frozenset()


# ----------------------------------------------------------------- the graph
class NodeSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)
    type: str
    position: dict[str, Any] | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class EdgeSpec(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(min_length=1)
    source: str
    target: str
    source_handle: str | None = Field(default=None, alias="sourceHandle")
    target_handle: str | None = Field(default=None, alias="targetHandle")


class GraphSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodes: list[NodeSpec]
    edges: list[EdgeSpec] = Field(default_factory=list)


# ----------------------------------------------------------------- node data
def _walk_templates(field: str, value: Any) -> Iterator[TemplateField]:
    """Every string inside a JSON value is a template (`data.body.user[0]`)."""
    if isinstance(value, str):
        yield TemplateField(field, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_templates(f"{field}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_templates(f"{field}[{index}]", item)


class NodeData(BaseModel):
    """What every node kind accepts."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    label: str | None = None
    retries: int = Field(default=0, ge=0, le=20)
    retry_backoff_s: float | None = Field(default=None, ge=0, le=3600)
    timeout_s: float | None = Field(default=None, gt=0, le=86400)
    max_iterations: int | None = Field(default=None, ge=1, le=10000)

    def templates(self) -> Iterator[TemplateField]:
        return iter(())

    def json_schemas(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(())

    def template_ids(self) -> Iterator[tuple[str, str]]:
        return iter(())

    def source_handles(self) -> tuple[str, ...] | None:
        """The outgoing handles this node declares; None: any edge, always active."""
        return None


class InputData(NodeData):
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")

    def json_schemas(self) -> Iterator[tuple[str, dict[str, Any]]]:
        if self.json_schema is not None:
            yield "data.schema", self.json_schema


class HttpToolData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    description: str = ""
    method: str = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    body_schema: dict[str, Any] | None = None
    credential_id: str | None = None  # an HTTP auth credential

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return _check_method(value)


class SubworkflowToolData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    description: str = ""
    workflow_id: str = Field(min_length=1)


class McpServerData(BaseModel):
    """An MCP server whose tools the agent may call: a streamable HTTP `url` (with an
    optional HTTP auth credential) or `stdio`, the name of a command the admin listed
    in `RELAYFLOW_MCP_STDIO_SERVERS` (users never give a command line). `tools`, when
    given, offers only those of the server's tools."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
    url: str | None = None
    stdio: str | None = None
    credential_id: str | None = None  # an HTTP auth credential, sent as headers
    tools: list[str] | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            scheme, sep, rest = value.partition("://")
            if not sep or scheme.lower() not in ("http", "https") or not rest.strip("/"):
                raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("tools")
    @classmethod
    def _tools(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not all(isinstance(n, str) and n for n in value):
            raise ValueError("tool names must be non-empty strings")
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerData:
        if (self.url is None) == (self.stdio is None):
            raise ValueError("give exactly one of url (streamable HTTP) or stdio (a listed name)")
        if self.stdio is not None and self.credential_id is not None:
            raise ValueError("credential_id applies to url servers only")
        return self


def _check_method(value: str) -> str:
    method = value.upper()
    if method not in HTTP_METHODS:
        raise ValueError(f"method must be one of {', '.join(HTTP_METHODS)}")
    return method


def _check_model(value: str | None) -> str | None:
    if value is not None and ":" not in value:
        raise ValueError("model must look like provider:model (e.g. openai:gpt-4o, test:echo)")
    return value


class AgentData(NodeData):
    template_id: str | None = None
    model: str | None = None
    credential_id: str | None = None  # a model provider credential
    role: str | None = None
    system_prompt: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    prompt: str
    output_schema: dict[str, Any] | None = None
    tools: list[HttpToolData] = Field(default_factory=list)
    delegates: list[str] = Field(default_factory=list)
    workflows: list[SubworkflowToolData] = Field(default_factory=list)
    mcp_servers: list[McpServerData] = Field(default_factory=list)

    @field_validator("mcp_servers")
    @classmethod
    def _distinct_servers(cls, value: list[McpServerData]) -> list[McpServerData]:
        names = [s.name for s in value]
        if len(set(names)) != len(names):
            raise ValueError("two MCP servers have the same name")
        return value

    @field_validator("model")
    @classmethod
    def _model_string(cls, value: str | None) -> str | None:
        return _check_model(value)

    @model_validator(mode="after")
    def _needs_a_model(self) -> AgentData:
        if not self.template_id and not self.model:
            raise ValueError("an agent node needs a template_id or a model")
        return self

    def templates(self) -> Iterator[TemplateField]:
        yield TemplateField("data.prompt", self.prompt)
        if self.system_prompt is not None:
            yield TemplateField("data.system_prompt", self.system_prompt)

    def json_schemas(self) -> Iterator[tuple[str, dict[str, Any]]]:
        if self.output_schema is not None:
            yield "data.output_schema", self.output_schema
        for index, tool in enumerate(self.tools):
            if tool.body_schema is not None:
                yield f"data.tools[{index}].body_schema", tool.body_schema

    def template_ids(self) -> Iterator[tuple[str, str]]:
        if self.template_id:
            yield "data.template_id", self.template_id
        for index, delegate in enumerate(self.delegates):
            yield f"data.delegates[{index}]", delegate


class HttpData(NodeData):
    method: str = "GET"
    url: str = Field(min_length=1)
    credential_id: str | None = None  # an HTTP auth credential
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    fail_on_status: bool = True

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return _check_method(value)

    def templates(self) -> Iterator[TemplateField]:
        yield TemplateField("data.url", self.url)
        for key, value in self.headers.items():
            yield TemplateField(f"data.headers.{key}", value)
        yield from _walk_templates("data.body", self.body)


class ConditionCase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    handle: str = Field(min_length=1)
    when: str = Field(min_length=1)


class ConditionData(NodeData):
    cases: list[ConditionCase] = Field(default_factory=list)
    default: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _distinct_handles(self) -> ConditionData:
        handles = [case.handle for case in self.cases]
        if self.default is not None:
            handles.append(self.default)
        if not handles:
            raise ValueError("a condition needs at least one case or a default handle")
        duplicates = sorted({h for h in handles if handles.count(h) > 1})
        if duplicates:
            raise ValueError(f"handle {duplicates[0]!r} is declared more than once")
        return self

    def templates(self) -> Iterator[TemplateField]:
        for index, case in enumerate(self.cases):
            yield TemplateField(f"data.cases[{index}].when", case.when, "expression")

    def source_handles(self) -> tuple[str, ...]:
        handles = tuple(case.handle for case in self.cases)
        return (*handles, self.default) if self.default is not None else handles


class TransformData(NodeData):
    value: Any

    def templates(self) -> Iterator[TemplateField]:
        return _walk_templates("data.value", self.value)


class MergeData(NodeData):
    mode: Literal["all", "any"] = "all"


class MapData(NodeData):
    items: str = Field(min_length=1)
    template_id: str | None = None
    workflow_id: str | None = None
    prompt: str | None = None
    concurrency: int = Field(default=4, ge=1, le=64)

    @model_validator(mode="after")
    def _one_target(self) -> MapData:
        if bool(self.template_id) == bool(self.workflow_id):
            raise ValueError("a map node needs exactly one of template_id or workflow_id")
        return self

    def templates(self) -> Iterator[TemplateField]:
        yield TemplateField("data.items", self.items, "expression")
        if self.prompt is not None:
            names = frozenset({"item", "index"})
            yield TemplateField("data.prompt", self.prompt, extra_names=names)

    def template_ids(self) -> Iterator[tuple[str, str]]:
        if self.template_id:
            yield "data.template_id", self.template_id


class SubworkflowData(NodeData):
    workflow_id: str = Field(min_length=1)
    input: Any = None

    def templates(self) -> Iterator[TemplateField]:
        return _walk_templates("data.input", self.input)


class ApprovalData(NodeData):
    message: str | None = None

    def templates(self) -> Iterator[TemplateField]:
        if self.message is not None:
            yield TemplateField("data.message", self.message)

    def source_handles(self) -> tuple[str, ...]:
        return ("approved", "rejected")


class OutputData(NodeData):
    value: Any = None

    def templates(self) -> Iterator[TemplateField]:
        return _walk_templates("data.value", self.value)
