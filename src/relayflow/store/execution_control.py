"""Acting on executions from the API: cancel, decide an approval, rerun.

Every change first takes the execution's row (an UPDATE: a row lock on
PostgreSQL, the write lock on SQLite) and only then reads its state, so it
cannot interleave with a worker's claim, the reaper or another request. Events
recording the change are appended in the same transaction, in id order.
Workers are woken when the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow import errors
from relayflow.domain import Actor, ExecutionStatus, NodeRunStatus, utcnow
from relayflow.engine.naming import owner_node_id
from relayflow.store import events, executions, node_runs
from relayflow.store.execution_queries import get_visible_execution
from relayflow.store.models import Execution, NodeRun, Workflow

_executions = cast(Table, Execution.__table__)
_runs = cast(Table, NodeRun.__table__)

CANCEL_REQUESTED = "execution.cancel_requested"
STATUS = "execution.status"


async def _lock(session: AsyncSession, execution: Execution) -> Execution:
    """Take the execution's row for this transaction, then read its current state."""
    await session.execute(
        update(_executions).where(_executions.c.id == execution.id).values(updated_at=utcnow())
    )
    await session.refresh(execution)
    return execution


# ----------------------------------------------------------------- cancel
async def cancel_execution(
    session: AsyncSession, actor: Actor, execution_id: uuid.UUID
) -> Execution:
    """Cancel an execution the actor may see.

    `pending` and `waiting` become `cancelled` at once. A `processing` one gets
    `cancel_requested`, and its worker is signalled: it stops the run within a
    second and records the final `cancelled` status itself (asking again while it
    stops changes nothing). A finished execution is a `Conflict`.
    """
    execution = await _lock(session, await get_visible_execution(session, actor, execution_id))
    status = ExecutionStatus(execution.status)
    if status.is_final:
        raise errors.Conflict(
            f"execution {execution_id} has already finished ({status.value}); nothing to cancel"
        )
    if status is ExecutionStatus.PROCESSING:
        if not execution.cancel_requested:
            execution.cancel_requested = True
            await session.flush()
            await events.append_events(
                session, [(execution.id, CANCEL_REQUESTED, {"by": str(actor.user_id)})]
            )
            await executions.request_cancel_signal(session, execution.id)
        return execution
    now = utcnow()
    message = f"cancelled by user {actor.user_id}"
    if execution.started_at is not None:
        execution.duration_ms = max(0, int((now - execution.started_at).total_seconds() * 1000))
    execution.status = ExecutionStatus.CANCELLED.value
    execution.error = message
    execution.completed_at = now
    execution.cancel_requested = True
    execution.waiting_on = None
    execution.lease_owner = None
    execution.lease_expires_at = None
    await session.flush()
    # An approval that was waiting will never be decided now.
    await session.execute(
        update(_runs)
        .where(_runs.c.execution_id == execution.id, _runs.c.status == NodeRunStatus.WAITING.value)
        .values(status=NodeRunStatus.CANCELLED.value, error=message, finished_at=now)
    )
    await events.append_events(
        session,
        [(execution.id, STATUS, {"status": ExecutionStatus.CANCELLED.value, "error": message})],
    )
    return execution


# ----------------------------------------------------------------- approvals
@dataclass(frozen=True)
class Decision:
    approved: bool
    comment: str | None = None

    def as_record(self, actor: Actor) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "comment": self.comment,
            "decided_by": str(actor.user_id),
            "decided_at": utcnow().isoformat(),
        }


async def decide_approval(
    session: AsyncSession,
    actor: Actor,
    execution_id: uuid.UUID,
    node_id: str,
    decision: Decision,
) -> Execution:
    """Record a decision for an approval the execution waits on, and resume it.

    The execution goes back to `pending`; a worker picks it up and goes on from
    its finished nodes with the decision. `Conflict` when the execution is not
    waiting on that node (never was, already decided, or not waiting at all).
    """
    execution = await _lock(session, await get_visible_execution(session, actor, execution_id))
    status = ExecutionStatus(execution.status)
    waiting_on = [str(n) for n in execution.waiting_on or []]
    if status is not ExecutionStatus.WAITING:
        raise errors.Conflict(
            f"execution {execution_id} is {status.value}, not waiting for an approval",
            details={"status": status.value},
        )
    if node_id not in waiting_on:
        raise errors.Conflict(
            f"execution {execution_id} is not waiting on node {node_id!r} "
            f"(waiting on: {', '.join(waiting_on) or 'nothing'})",
            details={"waiting_on": waiting_on},
        )
    record = decision.as_record(actor)
    execution.decisions = {**(execution.decisions or {}), node_id: record}
    execution.status = ExecutionStatus.PENDING.value
    execution.waiting_on = None
    await session.flush()
    verdict = "approved" if decision.approved else "rejected"
    await events.append_events(
        session,
        [
            (
                execution.id,
                STATUS,
                {
                    "status": ExecutionStatus.PENDING.value,
                    "reason": f"approval {node_id!r} {verdict} by user {actor.user_id}",
                    "decision": {"node_id": node_id, **record},
                },
            )
        ],
    )
    await executions.wake_workers(session)
    return execution


# ----------------------------------------------------------------- rerun
def graph_node_ids(graph: Mapping[str, Any] | None) -> list[str]:
    nodes = graph.get("nodes", []) if isinstance(graph, Mapping) else []
    return [str(n.get("id")) for n in nodes if isinstance(n, Mapping) and "id" in n]


class NodesWithChildren(Collection[str]):
    """Node ids that also contain the runs recorded inside those nodes (a sub-workflow's,
    a map's or an agent's tool calls: see `engine.naming`). Used as `exclude_nodes` so a
    node that runs again reruns its children too."""

    def __init__(self, nodes: Collection[str]) -> None:
        self._nodes = frozenset(nodes)

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, str):
            return False
        return item in self._nodes or owner_node_id(item) in self._nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)


async def rerun_execution(
    session: AsyncSession,
    actor: Actor,
    execution_id: uuid.UUID,
    *,
    from_node: str | None = None,
) -> Execution:
    """A new pending execution of the same pinned graph and input, started by the actor.

    With `from_node`, the finished results of every node that is not `from_node`
    or downstream of it are copied into the new execution here, in the same
    transaction (the one place they are copied), so the engine reuses them instead
    of running those nodes again. Without it the rerun starts over.
    """
    original = await get_visible_execution(session, actor, execution_id)
    graph = original.graph
    workflow = await session.get(Workflow, original.workflow_id) if original.workflow_id else None
    if workflow is None:
        raise errors.Conflict(f"execution {execution_id}: its workflow no longer exists")
    if graph is None:  # rows written before graphs were pinned
        graph = {"nodes": list(workflow.nodes or []), "edges": list(workflow.edges or [])}
    if from_node is not None and from_node not in graph_node_ids(graph):
        raise errors.InvalidInput(
            f"from_node: node {from_node!r} is not in the execution's graph",
            details=[{"field": "from_node", "message": f"unknown node {from_node!r}"}],
        )
    trigger = {
        "type": "rerun",
        "of": str(original.id),
        "from_node": from_node,
        "by": str(actor.user_id),
    }
    rerun = await executions.create_pending_execution(
        session,
        workflow=workflow,
        input=original.input,
        trigger=trigger,
        user_id=actor.user_id,
        rerun_of=original.id,
        rerun_from_node=from_node,
    )
    rerun.graph = dict(graph)  # the original's pinned graph, not the workflow as edited since
    rerun.workflow_version = original.workflow_version
    await session.flush()
    await session.refresh(rerun)  # every column loaded, for the answer
    if from_node is not None:
        again = NodesWithChildren(node_runs.downstream_of(graph, from_node))
        await node_runs.copy_finished_runs(
            session, source_id=original.id, target_id=rerun.id, exclude_nodes=again
        )
    return rerun
