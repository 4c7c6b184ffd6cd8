"""A finished node is recorded at most once per (execution, node, iteration).

The database enforces it (the partial unique index `uq_node_runs_completed`,
migration 0007); the writers keep the first completion and turn a repeated one
into a `cancelled` attempt with `REPEATED_NOTE`, so the history still shows that
the node ran again and the batch around it is written as usual. Each repeat is
counted (the worker's `relayflow_dropped_writes{reason="repeated_completion"}`).

With every write fenced by its lease token a repeat should not happen; this is
the guard that holds even if a stale write ever got through.

`settle_repeats` (any session) and SQLite's batch (`store.queue.sqlite_writes`) must
run inside the writing transaction after the fence, which on SQLite holds the
database's write lock, so what they read cannot change before the commit.
PostgreSQL's one-statement batch does the same in SQL
(`store.queue.statements.batches.PG_RUN_BATCH`).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import NodeRunStatus
from relayflow.store import models

if TYPE_CHECKING:
    from relayflow.store.node_runs import NodeRunWrites

COMPLETED = NodeRunStatus.COMPLETED.value
REPEATED_STATUS = NodeRunStatus.CANCELLED.value
REPEATED_NOTE = (
    "this node's completion was already recorded (by an earlier run of it); this repeat is not used"
)
CompletionKey = tuple[uuid.UUID, str, int]
_runs = cast(Table, models.NodeRun.__table__)


def completion_key(row: dict[str, Any]) -> CompletionKey:
    return (row["execution_id"], row["node_id"], int(row["iteration"]))


def mark_repeated(row: dict[str, Any]) -> dict[str, Any]:
    """The row as written when its completion is a repeat."""
    return {**row, "status": REPEATED_STATUS, "error": REPEATED_NOTE}


async def recorded_completions(
    session: AsyncSession, execution_ids: set[uuid.UUID]
) -> dict[CompletionKey, uuid.UUID]:
    """The completed node runs of these executions: key -> row id."""
    if not execution_ids:
        return {}
    rows = await session.execute(
        select(_runs.c.id, _runs.c.execution_id, _runs.c.node_id, _runs.c.iteration).where(
            _runs.c.execution_id.in_(list(execution_ids)), _runs.c.status == COMPLETED
        )
    )
    return {(r.execution_id, r.node_id, r.iteration): r.id for r in rows}


def completing_executions(writes: NodeRunWrites) -> set[uuid.UUID]:
    """The executions with a completion among `writes`."""
    return {
        row["execution_id"]
        for row in (*writes.inserts, *writes.updates)
        if row["status"] == COMPLETED
    }


def mark_repeats(writes: NodeRunWrites, recorded: dict[CompletionKey, uuid.UUID]) -> int:
    """Mark, in place, each completion in `writes` whose node is already `recorded`
    completed (or completed earlier in `writes`); returns how many were repeats."""
    repeats = 0
    for rows in (writes.inserts, writes.updates):
        for i, row in enumerate(rows):
            if row["status"] != COMPLETED:
                continue
            key = completion_key(row)
            row_id: uuid.UUID = row["id"] if "id" in row else row["row_id"]
            first = recorded.setdefault(key, row_id)
            if first != row_id:
                rows[i] = mark_repeated(row)
                repeats += 1
    return repeats


async def settle_repeats(session: AsyncSession, writes: NodeRunWrites) -> int:
    """`mark_repeats` against the completions recorded in the session's database."""
    executions = completing_executions(writes)
    if not executions:
        return 0
    return mark_repeats(writes, await recorded_completions(session, executions))
