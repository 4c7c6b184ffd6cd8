"""What a node handler receives (`NodeContext`) and returns (`NodeOutcome`).

A handler is `async def run(ctx) -> NodeOutcome`. It raises a `RelayflowError` for a
failure the user must see (its message becomes the node's error), or
`TransientAgentError` for one worth retrying; the executor records attempts,
applies retries and timeouts, and resolves the outgoing edges.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relayflow.domain import ExecutionStatus, NodeRunStatus
from relayflow.engine import templating
from relayflow.engine.budget import RunBudget
from relayflow.engine.ports import (
    AgentRunner,
    CredentialSource,
    EventSink,
    NodeRunRecord,
    TemplateCatalog,
    TokenUsage,
    WorkflowCatalog,
)
from relayflow.engine.run import ApprovalDecision, EngineOptions, ExecutionOutcome
from relayflow.engine.template_limits import RenderBudget, node_budget
from relayflow.errors import NodeFailed

if TYPE_CHECKING:
    import httpx

# Runs a workflow (by id) as a child of this node: (workflow_id, input, key) -> outcome.
# `key` names the child inside this node (`map1[3]`); its node runs are recorded
# under the parent execution as `key/child_node_id`.
ChildRunner = Callable[[str, Any, str], Awaitable[ExecutionOutcome]]

# Records one finished map item under `node_id[index]` so a resume can reuse it.
ItemRecorder = Callable[[NodeRunRecord], Awaitable[None]]


@dataclass(slots=True)
class NodeOutcome:
    output: Any = None
    status: NodeRunStatus = NodeRunStatus.COMPLETED
    # Which outgoing handles are active; None means every edge.
    active_handles: list[str] | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float = 0.0
    # Approval node ids (possibly inside sub-workflows) this node waits on.
    waiting_on: list[str] = field(default_factory=list)
    # An agent's tool calls and delegations, in call order, for the node's record.
    tool_calls: tuple[Mapping[str, Any], ...] = ()


@dataclass(slots=True)
class NodeContext:
    node_id: str
    kind: str
    data: Any  # the kind's `spec.*Data` model
    iteration: int
    execution_id: uuid.UUID
    user_id: uuid.UUID | None
    options: EngineOptions
    agents: AgentRunner
    templates: TemplateCatalog
    workflows: WorkflowCatalog
    scope: Mapping[str, Any]  # the template context {input, nodes, execution, iteration}
    upstream: dict[str, Any]  # outputs of the sources of this node's active incoming edges
    execution_input: Any
    run_child: ChildRunner
    record_item: ItemRecorder
    reusable: Mapping[tuple[str, int], NodeRunRecord]
    # The execution's budget (node runs, map items, output size) as this run sees it.
    budget: RunBudget
    decision: ApprovalDecision | None = None
    events: EventSink | None = None
    http_client: httpx.AsyncClient | None = None
    credentials: CredentialSource | None = None
    # What the node reports as its input in its run record (set by the handler).
    input: Any = None
    # When this attempt times out (time.monotonic(); set by the attempt's policy).
    deadline: float | None = None

    def where(self, field_name: str) -> str:
        return f"node {self.node_id!r}: {field_name}"

    def render_budget(self) -> RenderBudget:
        return node_budget(self.options.templates, self.deadline, self.data.timeout_s)

    def credential_source(self, field_name: str) -> CredentialSource:
        if self.credentials is None:
            raise NodeFailed(f"{self.where(field_name)}: credentials are not available here")
        return self.credentials

    # Renders run off the event loop within the budget (engine.templating).
    async def render(self, value: Any, field_name: str, **extra: Any) -> Any:
        scope = {**self.scope, **extra} if extra else self.scope
        return await templating.render_async(
            value, scope, where=self.where(field_name), budget=self.render_budget()
        )

    async def render_text(self, source: str, field_name: str, **extra: Any) -> str:
        scope = {**self.scope, **extra} if extra else self.scope
        return await templating.render_text_async(
            source, scope, where=self.where(field_name), budget=self.render_budget()
        )

    async def evaluate(self, expression: str, field_name: str, **extra: Any) -> Any:
        scope = {**self.scope, **extra} if extra else self.scope
        return await templating.evaluate_async(
            expression, scope, where=self.where(field_name), budget=self.render_budget()
        )

    async def emit(self, kind: str, payload: Mapping[str, Any]) -> None:
        if self.events is not None:
            await self.events(kind, {"node_id": self.node_id, **payload})


def child_result(outcome: ExecutionOutcome, what: str) -> NodeOutcome:
    """Turn a child workflow's outcome into this node's outcome (or failure)."""
    if outcome.status is ExecutionStatus.COMPLETED:
        # The child's own rows carry its usage; this node's row must not count it again.
        return NodeOutcome(output=outcome.output)
    if outcome.status is ExecutionStatus.WAITING:
        return NodeOutcome(status=NodeRunStatus.WAITING, waiting_on=list(outcome.waiting_on))
    raise NodeFailed(f"{what} {outcome.status.value}: {outcome.error or 'no reason given'}")
