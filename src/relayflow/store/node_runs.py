"""Node attempts in `node_runs`: the engine's RunStore on SQL, fenced by the lease token.

A node attempt is one row: inserted when it starts, updated when it ends (or
inserted once, finished, when its start was never written). `finished()` is what
resume reads: the latest completed or skipped record per (node, iteration).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import NodeRunStatus, utcnow
from relayflow.engine.ports import NodeRunRecord, TokenUsage
from relayflow.ids import time_ordered_id
from relayflow.store import completions, models
from relayflow.store.db import Database

_runs = cast(Table, models.NodeRun.__table__)
DONE = (NodeRunStatus.COMPLETED.value, NodeRunStatus.SKIPPED.value)
RunKey = tuple[uuid.UUID, str, int, int]  # execution, node, iteration, attempt


def to_datetime(epoch: float | None) -> dt.datetime | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None)


def to_epoch(value: dt.datetime | None) -> float | None:
    return None if value is None else value.replace(tzinfo=dt.UTC).timestamp()


def run_key(run: NodeRunRecord) -> RunKey:
    return (run.execution_id, run.node_id, run.iteration, run.attempt)


def row_values(run: NodeRunRecord) -> dict[str, Any]:
    """The `node_runs` columns of a record (without its id)."""
    started, finished = to_datetime(run.started_at), to_datetime(run.finished_at)
    duration = None
    if run.started_at is not None and run.finished_at is not None:
        duration = max(0, round((run.finished_at - run.started_at) * 1000))
    details: dict[str, Any] = {}
    if run.usage.requests:
        details["requests"] = run.usage.requests
    if run.tool_calls:
        details["tool_calls"] = [dict(call) for call in run.tool_calls]
    return {
        "execution_id": run.execution_id,
        "node_id": run.node_id,
        "iteration": run.iteration,
        "attempt": run.attempt,
        "status": NodeRunStatus(run.status).value,
        "input": run.input,
        "output": run.output,
        "error": run.error,
        "active_handles": run.active_handles,
        "started_at": started,
        "finished_at": finished,
        "duration_ms": duration,
        "input_tokens": run.usage.input_tokens,
        "output_tokens": run.usage.output_tokens,
        "cost_usd": run.cost_usd,
        "details": details or None,
    }


@dataclass
class NodeRunWrites:
    """Node-run rows to write in one transaction: new rows and updates of known ones."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates)


class RowIds:
    """Remembers the row id of each attempt that has started, until it ends."""

    def __init__(self) -> None:
        self._open: dict[RunKey, uuid.UUID] = {}

    def plan(self, run: NodeRunRecord, writes: NodeRunWrites) -> None:
        """Add the write for `run` to `writes` (insert or update of its row)."""
        key = run_key(run)
        values = row_values(run)
        row_id = self._open.get(key)
        final = run.status is not NodeRunStatus.RUNNING
        if row_id is None:
            row_id = time_ordered_id()
            writes.inserts.append({"id": row_id, **values})
            if not final:
                self._open[key] = row_id
            return
        if final:
            del self._open[key]
        writes.updates.append({"row_id": row_id, **values})

    def forget(self, execution_id: uuid.UUID) -> None:
        for key in [k for k in self._open if k[0] == execution_id]:
            del self._open[key]


UPDATED_COLUMNS = (
    "status",
    "input",
    "output",
    "error",
    "active_handles",
    "started_at",
    "finished_at",
    "duration_ms",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "details",
)
# Bind names must differ from column names in an executemany UPDATE.
_UPDATE_BY_ID = (
    update(_runs)
    .where(_runs.c.id == bindparam("b_row_id"))
    .values({name: bindparam(f"b_{name}") for name in UPDATED_COLUMNS})
)


async def write_node_runs(session: AsyncSession, writes: NodeRunWrites) -> int:
    """Write the rows; returns how many completions were repeats (`store.completions`)."""
    repeats = await completions.settle_repeats(session, writes)
    if writes.inserts:
        await session.execute(insert(_runs), writes.inserts)
    if writes.updates:
        rows = [
            {"b_row_id": row["row_id"], **{f"b_{name}": row[name] for name in UPDATED_COLUMNS}}
            for row in writes.updates
        ]
        await session.execute(_UPDATE_BY_ID, rows)
    return repeats


async def finished_runs(session: AsyncSession, execution_id: uuid.UUID) -> list[NodeRunRecord]:
    """The latest completed or skipped record per (node, iteration) of an execution."""
    rows = await session.execute(
        select(_runs)
        .where(_runs.c.execution_id == execution_id, _runs.c.status.in_(DONE))
        .order_by(_runs.c.finished_at, _runs.c.attempt)
    )
    latest: dict[tuple[str, int], NodeRunRecord] = {}
    for row in rows:
        latest[(row.node_id, row.iteration)] = record_from_row(row)
    return list(latest.values())


def record_from_row(row: Any) -> NodeRunRecord:
    details = row.details if isinstance(row.details, dict) else {}
    calls = details.get("tool_calls")
    return NodeRunRecord(
        execution_id=row.execution_id,
        node_id=row.node_id,
        iteration=row.iteration,
        attempt=row.attempt,
        status=NodeRunStatus(row.status),
        input=row.input,
        output=row.output,
        error=row.error,
        started_at=to_epoch(row.started_at),
        finished_at=to_epoch(row.finished_at),
        usage=TokenUsage(row.input_tokens, row.output_tokens, details.get("requests", 0)),
        cost_usd=row.cost_usd,
        active_handles=row.active_handles,
        tool_calls=tuple(calls) if isinstance(calls, list) else (),
    )


async def interrupt_running(session: AsyncSession, execution_id: uuid.UUID) -> int:
    """Close attempts left `running` by a worker that was lost: they will run again."""
    result = await session.execute(
        update(_runs)
        .where(
            _runs.c.execution_id == execution_id,
            _runs.c.status == NodeRunStatus.RUNNING.value,
        )
        .values(
            status=NodeRunStatus.FAILED.value,
            error="interrupted: the worker running this attempt stopped; the node runs again",
            finished_at=utcnow(),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def copy_finished_runs(
    session: AsyncSession,
    *,
    source_id: uuid.UUID,
    target_id: uuid.UUID,
    exclude_nodes: Collection[str],
) -> list[NodeRunRecord]:
    """Reuse a previous execution's finished node runs (rerun from a node)."""
    reused = [r for r in await finished_runs(session, source_id) if r.node_id not in exclude_nodes]
    if reused:
        rows = []
        for record in reused:
            record.execution_id = target_id
            values = row_values(record)
            values["details"] = {**(values["details"] or {}), "reused_from": str(source_id)}
            rows.append({"id": time_ordered_id(), **values})
        await session.execute(insert(_runs), rows)
    return reused


def downstream_of(graph: Any, node_id: str) -> set[str]:
    """`node_id` and every node reachable from it along edges."""
    edges = graph.get("edges", []) if isinstance(graph, dict) else []
    children: dict[str, list[str]] = {}
    for edge in edges:
        if isinstance(edge, dict):
            children.setdefault(str(edge.get("source")), []).append(str(edge.get("target")))
    seen = {node_id}
    stack = [node_id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


class SqlRunStore:
    """`engine.ports.RunStore` on the database, one transaction per record.

    With a fence (the lease token), the write happens only while the execution is
    still `processing` under that token, checked in the same transaction; else
    `errors.LeaseLost`. The worker uses the batching journal instead (same rows,
    fewer commits); this store suits in-process runs and tools.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._rows = RowIds()

    async def record(self, run: NodeRunRecord, *, fence: int | None = None) -> None:
        writes = NodeRunWrites()
        self._rows.plan(run, writes)
        async with self._db.transaction() as session:
            if fence is not None:
                from relayflow.store.queue import leases  # the queue builds on this module

                await leases.fence_one(session, run.execution_id, fence)
            await write_node_runs(session, writes)

    async def finished(self, execution_id: uuid.UUID) -> list[NodeRunRecord]:
        async with self._db.session() as session:
            return await finished_runs(session, execution_id)


async def node_runs_of(session: AsyncSession, execution_id: uuid.UUID) -> Sequence[models.NodeRun]:
    """Every attempt of an execution, in start order."""
    result = await session.execute(
        select(models.NodeRun)
        .where(models.NodeRun.execution_id == execution_id)
        .order_by(models.NodeRun.started_at, models.NodeRun.node_id, models.NodeRun.attempt)
    )
    return result.scalars().all()
