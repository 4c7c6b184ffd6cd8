"""Executions: runs of a workflow's pinned graph, with their node attempts.

Stored values (inputs, outputs, triggers, graphs, node attempts) pass through
`servable` on their way out, so a row stored before the input limits (nested 900
levels, a lone surrogate) still answers 200 instead of breaking every list it is in.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from relayflow.api.schemas.common import UtcDateTime
from relayflow.domain import ExecutionStatus
from relayflow.runtime.control import StartTrigger
from relayflow.store.execution_queries import ExecutionDetail
from relayflow.store.models import Execution, NodeRun
from relayflow.store.node_run_reads import RunTotals
from relayflow.store.queue.rows import PendingRow
from relayflow.stored_json import servable


class ExecutionStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: Any = Field(
        default=None, description="The execution's input, checked against the input node's schema."
    )
    version: int | None = Field(
        default=None,
        ge=1,
        description="The workflow version to run; left out: the draft (what the editor saved).",
    )
    trigger: StartTrigger = Field(
        default=StartTrigger.API,
        description="Where the run is started from, recorded as its trigger's `type`: `api` "
        "(scripts and other systems, the default) or `editor` (the web editor's Run button).",
    )


class RerunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_node: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Run this node and everything downstream of it again, reusing the "
        "finished results of the other nodes. Left out: run the whole graph again.",
    )


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approved: StrictBool
    comment: str | None = Field(default=None, max_length=10_000)


class ExecutionOut(BaseModel):
    id: uuid.UUID
    workflow_id: uuid.UUID | None
    status: ExecutionStatus
    input: Any
    output: Any
    error: str | None
    started_at: UtcDateTime | None
    completed_at: UtcDateTime | None
    duration_ms: int | None
    updated_at: UtcDateTime | None
    user_id: uuid.UUID | None = Field(description="Who started it (whose run it is).")
    trigger: dict[str, Any] | None = Field(
        description="What started it: `{type: api|editor|webhook|schedule|rerun, ...}`."
    )
    rerun_of: uuid.UUID | None
    rerun_from_node: str | None
    cancel_requested: bool
    waiting_on: list[str] = Field(description="Approval nodes it waits on (status `waiting`).")
    decisions: dict[str, Any] = Field(description="Approval decisions by node id.")
    input_tokens: int
    output_tokens: int
    cost_usd: float
    workflow_version: int | None = Field(
        description="The workflow version it ran (null for runs from before versions)."
    )

    @classmethod
    def of(cls, execution: Execution) -> ExecutionOut:
        return cls(**_execution_fields(execution))


def _execution_fields(execution: Execution) -> dict[str, Any]:
    return {
        "id": execution.id,
        "workflow_id": execution.workflow_id,
        "status": ExecutionStatus(execution.status),
        "input": servable(execution.input),
        "output": servable(execution.output),
        "error": servable(execution.error),
        "started_at": execution.started_at,
        "completed_at": execution.completed_at,
        "duration_ms": execution.duration_ms,
        "updated_at": execution.updated_at,
        "user_id": execution.user_id,
        "trigger": servable(execution.trigger),
        "rerun_of": execution.rerun_of,
        "rerun_from_node": execution.rerun_from_node,
        "cancel_requested": bool(execution.cancel_requested),
        "waiting_on": [str(n) for n in execution.waiting_on or []],
        "decisions": servable(dict(execution.decisions or {})),
        "input_tokens": execution.input_tokens or 0,
        "output_tokens": execution.output_tokens or 0,
        "cost_usd": execution.cost_usd or 0.0,
        "workflow_version": execution.workflow_version,
    }


class StartedExecutionOut(ExecutionOut):
    url: str = Field(description="Where to follow it (also the Location header).")

    @classmethod
    def started(cls, execution: Execution, url: str) -> StartedExecutionOut:
        return cls(**_execution_fields(execution), url=url)

    @classmethod
    def queued(cls, row: PendingRow, url: str) -> StartedExecutionOut:
        """The execution as its pending row was just written (not read back)."""
        execution = Execution(
            id=row.execution_id,
            workflow_id=row.workflow_id,
            status=ExecutionStatus.PENDING.value,
            input=row.input,
            started_at=row.started_at,
            updated_at=row.started_at,
            user_id=row.user_id,
            trigger=row.trigger,
            workflow_version=row.version,
        )
        return cls.started(execution, url)


class ToolCallOut(BaseModel):
    """One tool call or delegation an agent made during a node attempt."""

    agent: str = Field(description="The agent that called it (the node's, or a colleague's).")
    tool: str
    kind: str = Field(description="`http`, `delegate`, `subworkflow` or `mcp`.")
    server: str | None = Field(default=None, description="The MCP server (`mcp` calls).")
    args: dict[str, Any] = Field(default_factory=dict)
    status: str | None = Field(default=None, description="`completed` or `failed`.")
    result: Any = Field(default=None, description="What the tool answered (clipped).")
    error: str | None = None
    duration_ms: float | None = None


class NodeRunOut(BaseModel):
    """One attempt of one node (per loop iteration)."""

    id: uuid.UUID
    node_id: str
    iteration: int
    attempt: int
    status: str
    input: Any
    output: Any
    error: str | None
    active_handles: list[Any] | None
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    duration_ms: int | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    reused_from: uuid.UUID | None = Field(
        description="The execution whose finished result a rerun reused, instead of running it."
    )
    tool_calls: list[ToolCallOut] = Field(
        default_factory=list,
        description="An agent's tool calls and delegations, in call order.",
    )

    @classmethod
    def of(cls, run: NodeRun) -> NodeRunOut:
        details = servable(run.details) if isinstance(run.details, dict) else {}
        reused = details.get("reused_from")
        calls = details.get("tool_calls")
        return cls(
            id=run.id,
            node_id=run.node_id,
            iteration=run.iteration,
            attempt=run.attempt,
            status=run.status,
            input=servable(run.input),
            output=servable(run.output),
            error=servable(run.error),
            active_handles=servable(run.active_handles),
            started_at=run.started_at,
            finished_at=run.finished_at,
            duration_ms=run.duration_ms,
            input_tokens=run.input_tokens or 0,
            output_tokens=run.output_tokens or 0,
            cost_usd=run.cost_usd or 0.0,
            reused_from=uuid.UUID(reused) if isinstance(reused, str) else None,
            tool_calls=[ToolCallOut.model_validate(c) for c in calls or [] if isinstance(c, dict)],
        )


class TotalsOut(BaseModel):
    attempts: int = Field(description="Node attempts recorded (retries and reused ones count).")
    input_tokens: int
    output_tokens: int
    cost_usd: float
    nodes_by_status: dict[str, int] = Field(
        description="Nodes (per iteration) by the status of their latest attempt."
    )

    @classmethod
    def of(cls, totals: RunTotals) -> TotalsOut:
        return cls(
            attempts=totals.attempts,
            input_tokens=totals.input_tokens,
            output_tokens=totals.output_tokens,
            cost_usd=totals.cost_usd,
            nodes_by_status=totals.by_status,
        )


class ExecutionDetailOut(ExecutionOut):
    graph: dict[str, Any] | None = Field(description="The pinned `{nodes, edges}` it runs.")
    node_runs: list[NodeRunOut] = Field(
        description="Node attempts in start order: all of them, or the first "
        "`RELAYFLOW_EXECUTION_DETAIL_NODE_RUNS` (500) when `node_runs_next_cursor` is set."
    )
    node_runs_next_cursor: str | None = Field(
        description="Set when more attempts follow: pass it as `cursor` to "
        "`GET /api/v1/executions/{execution_id}/node-runs`."
    )
    totals: TotalsOut = Field(description="Over every attempt, not only those listed here.")

    @classmethod
    def detail(cls, found: ExecutionDetail) -> ExecutionDetailOut:
        return cls(
            **_execution_fields(found.execution),
            graph=servable(found.execution.graph),
            node_runs=[NodeRunOut.of(run) for run in found.node_runs.items],
            node_runs_next_cursor=found.node_runs.next_cursor,
            totals=TotalsOut.of(found.totals),
        )


class ExecutionEventOut(BaseModel):
    """The `data` of one Server-Sent Event of an execution (JSON on one line)."""

    id: int = Field(description="Increasing per execution; send it back as `Last-Event-ID`.")
    execution_id: uuid.UUID
    kind: str = Field(description="`execution.status`, `node.started`, `agent.delta`, ...")
    payload: dict[str, Any]
    created_at: UtcDateTime


def _event_stream_schema() -> dict[str, Any]:
    # Before OpenAPI 3.2 (`itemSchema`), the schema of an event-stream describes one event
    # as the SSE fields; `data` is JSON whose own schema is given by `contentSchema`.
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "description": "The event's `kind`."},
            "id": {"type": "string", "description": "The event's `id`."},
            "retry": {"type": "integer", "description": "Reconnection delay (ms)."},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": ExecutionEventOut.model_json_schema(mode="serialization"),
            },
        },
    }


EVENT_STREAM_RESPONSE: dict[str, Any] = {
    "description": "Server-Sent Events (`text/event-stream`); the stream ends after the final "
    "status. Comment lines (`: keep-alive`) come while nothing happens.",
    "content": {"text/event-stream": {"schema": _event_stream_schema()}},
}
