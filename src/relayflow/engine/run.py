"""The value types of one execution: options, the run request, decisions, the outcome.

`relayflow.engine.executor` re-exports them; they live here so node kinds can use
them without importing the executor.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relayflow.domain import ExecutionStatus
from relayflow.engine.ports import TokenUsage
from relayflow.engine.template_limits import TemplateLimits


@dataclass(frozen=True)
class EngineOptions:
    """How the engine runs; the runtime builds them from the settings
    (`relayflow.runtime.engine_options`)."""

    max_parallel_nodes: int = 16
    execution_timeout_s: float = 3600.0
    subworkflow_max_depth: int = 5
    http_allowlist: tuple[str, ...] = ()
    default_retry_backoff_s: float = 0.5
    # Longest wait between two attempts of a node, whatever the backoff says.
    max_retry_delay_s: float = 60.0
    templates: TemplateLimits = field(default_factory=TemplateLimits)
    # Execution budgets (`engine.budget`).
    max_node_runs: int = 10_000
    max_map_items: int = 1_000
    max_node_output_bytes: int = 1_048_576
    max_events: int = 100_000
    # Nodes of child runs at work at once, over the execution's whole tree (`engine.slots`).
    max_active_child_nodes: int = 4


@dataclass(frozen=True)
class ApprovalDecision:
    approved: bool
    comment: str | None = None
    decided_by: str | None = None  # user id as string

    def as_dict(self) -> dict[str, Any]:
        return {"approved": self.approved, "comment": self.comment, "decided_by": self.decided_by}


@dataclass
class ExecutionRun:
    execution_id: uuid.UUID
    graph: Mapping[str, Any]  # raw {"nodes": [...], "edges": [...]} (React Flow arrays)
    input: Any
    user_id: uuid.UUID | None = None  # whose permissions sub-workflows run with
    fence: int | None = None  # lease token, passed to RunStore.record(fence=...)
    decisions: Mapping[str, ApprovalDecision] = field(default_factory=dict)  # by node id
    cancel: asyncio.Event | None = None  # set => cooperative cancellation
    trigger: Mapping[str, Any] = field(default_factory=dict)  # exposed as execution.trigger
    depth: int = 0  # sub-workflow nesting depth


@dataclass
class ExecutionOutcome:
    status: ExecutionStatus  # COMPLETED | FAILED | CANCELLED | WAITING
    output: Any = None
    error: str | None = None
    usage: TokenUsage = field(
        default_factory=TokenUsage
    )  # summed over all node runs (incl. reused ones)
    cost_usd: float = 0.0
    waiting_on: list[str] = field(default_factory=list)  # approval node ids
