"""What the engine needs from the outside, as Protocols.

The engine never imports `agents/`, `store/` or `runtime/`; they implement these
interfaces and are handed to the executor. In-memory fakes live beside the
engine (`engine/memory.py`) for tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from relayflow.domain import NodeRunStatus


# ----------------------------------------------------------------- agents
@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.requests + other.requests,
        )


@dataclass(frozen=True)
class ProviderCredential:
    """A model provider's key and address from a user's credential (never printed)."""

    id: str
    kind: str  # openai | anthropic | openai_compatible | ollama
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None


@dataclass(frozen=True)
class HttpAuth:
    """What an HTTP auth credential adds to a request (never printed)."""

    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    params: Mapping[str, str] = field(default_factory=dict, repr=False)


class CredentialSource(Protocol):
    """The credentials of the user a run belongs to (their own and shared ones).

    Unknown ids and other users' credentials raise `relayflow.errors.NotFound`.
    """

    async def provider(self, credential_id: str) -> ProviderCredential: ...

    async def http_auth(self, credential_id: str) -> HttpAuth: ...

    async def secrets(self) -> Mapping[str, str]:
        """Generic secrets by name, for templates (`{{ secrets.NAME }}`)."""
        ...


@dataclass(frozen=True)
class AgentProfile:
    """An agent template resolved from the store (or built from a node's overrides)."""

    id: str | None
    name: str
    role: str
    model: str
    system_prompt: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # The provider credential picked by the node or template, and (filled in by the
    # engine just before the run) what it holds; None: the server-wide keys.
    credential_id: str | None = None
    credential: ProviderCredential | None = None


@dataclass(frozen=True)
class HttpToolSpec:
    """An HTTP tool the agent may call: `{name, description, method, url, headers?}`."""

    name: str
    description: str
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body_schema: Mapping[str, Any] | None = None
    auth: HttpAuth | None = None


@dataclass(frozen=True)
class SubworkflowToolSpec:
    name: str
    description: str
    workflow_id: str


@dataclass(frozen=True)
class McpServerSpec:
    """An MCP server offering tools: `url` (streamable HTTP) or `stdio` (a name from the
    admin's list); `tools` keeps only the named ones (None: all of them)."""

    name: str
    url: str | None = None
    stdio: str | None = None
    tools: tuple[str, ...] | None = None
    auth: HttpAuth | None = None


# An event the agent emits while it runs (token deltas, tool calls), for live views.
AgentEventSink = Callable[[str, Mapping[str, Any]], Awaitable[None]]

# Runs a sub-workflow for a tool call and returns its output.
SubworkflowCaller = Callable[[str, Any], Awaitable[Any]]


@dataclass(frozen=True)
class AgentRequest:
    node_id: str
    profile: AgentProfile
    prompt: str
    output_schema: Mapping[str, Any] | None = None
    http_tools: tuple[HttpToolSpec, ...] = ()
    delegates: tuple[AgentProfile, ...] = ()
    subworkflow_tools: tuple[SubworkflowToolSpec, ...] = ()
    call_subworkflow: SubworkflowCaller | None = None
    mcp_servers: tuple[McpServerSpec, ...] = ()
    on_event: AgentEventSink | None = None
    timeout_s: float | None = None


@dataclass(frozen=True)
class AgentResult:
    output: Any  # str, or the JSON value when an output_schema was given
    model: str
    usage: TokenUsage = TokenUsage()
    cost_usd: float = 0.0
    # Delegations and tool calls made, for the node's record.
    tool_calls: tuple[Mapping[str, Any], ...] = ()


class AgentRunner(Protocol):
    async def run(self, request: AgentRequest) -> AgentResult:
        """Run one agent turn (with its tool calls) to a final answer.

        Raises `relayflow.errors.RelayflowError` subclasses for failures the user
        must see (missing provider key, invalid output); transient provider
        errors (429, 5xx, timeouts) raise `TransientAgentError` so the node's
        retry policy applies.
        """
        ...


class TemplateCatalog(Protocol):
    async def get_profile(self, template_id: str) -> AgentProfile | None: ...


# ----------------------------------------------------------------- run records
@dataclass
class NodeRunRecord:
    """One attempt of one node, as the engine reports it to the store."""

    execution_id: uuid.UUID
    node_id: str
    iteration: int
    attempt: int
    status: NodeRunStatus
    input: Any = None
    output: Any = None
    error: str | None = None
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None
    usage: TokenUsage = TokenUsage()
    cost_usd: float = 0.0
    # Which outgoing handle(s) are active (condition nodes); None means all.
    active_handles: list[str] | None = None
    # An agent's tool calls and delegations (see `agents.tools.ToolCallLog`).
    tool_calls: tuple[Mapping[str, Any], ...] = ()


class RunStore(Protocol):
    """Where the executor records node attempts and reads back finished ones.

    `fence` is the lease token of the caller (runtime); a store must refuse a
    write whose token is no longer the execution's current one by raising
    `relayflow.errors.LeaseLost`. In-process runs pass None.
    """

    async def record(self, run: NodeRunRecord, *, fence: int | None = None) -> None: ...

    async def finished(self, execution_id: uuid.UUID) -> list[NodeRunRecord]:
        """The latest completed or skipped record per (node, iteration)."""
        ...


# ----------------------------------------------------------------- live events
# `(kind, payload)`: kinds are "node.started", "node.finished", "node.failed",
# "node.skipped", "node.waiting", "node.retrying", "agent.delta", "agent.tool_call".
# The runtime persists and fans these out; in-process runs may pass None.
EventSink = Callable[[str, Mapping[str, Any]], Awaitable[None]]


class WorkflowCatalog(Protocol):
    """Looks up another workflow's graph for `subworkflow` and `map` nodes.

    Returns the raw `{"nodes": [...], "edges": [...]}` of a workflow that the
    user may read, or None (unknown id and foreign id alike).
    """

    async def get_graph(
        self, workflow_id: str, *, user_id: uuid.UUID | None
    ) -> Mapping[str, Any] | None: ...
