"""What goes into the queue and what comes out of it: plain values, no SQL."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import DateTime, Integer, column, text

from relayflow.domain import ExecutionStatus, utcnow
from relayflow.store.queue.drivers import bind_json, bind_time, bind_uuid
from relayflow.store.queue.statements import BACKLOG, POSTGRES

PENDING = ExecutionStatus.PENDING.value
PROCESSING = ExecutionStatus.PROCESSING.value
NO_CAP = 2**31 - 1


@dataclass(frozen=True)
class PendingRow:
    """The values of a new execution that do not come from its workflow
    (`statements.starts.PENDING_ROW` copies the graph)."""

    execution_id: uuid.UUID
    workflow_id: uuid.UUID
    user_id: uuid.UUID | None
    input: Any
    trigger: dict[str, Any]
    started_at: dt.datetime = field(default_factory=utcnow)
    rerun_of: uuid.UUID | None = None
    rerun_from_node: str | None = None
    # The workflow version to run; None: the draft (the workflow's own graph).
    version: int | None = None


def pending_params(row: PendingRow, dialect: str) -> dict[str, Any]:
    """The parameters of `statements.starts.PENDING_ROW[dialect]`, encoded as its
    driver takes them."""
    if dialect == POSTGRES:  # asyncpg: UUIDs and datetimes as they are; JSON as text
        return {
            "id": row.execution_id,
            "workflow_id": row.workflow_id,
            "user_id": row.user_id,
            "input": json.dumps(row.input),
            "trigger": json.dumps(row.trigger),
            "now": row.started_at,
            "rerun_of": row.rerun_of,
            "rerun_from_node": row.rerun_from_node,
            "version": row.version,
        }
    return {  # sqlite3: as SQLAlchemy's own column types encode them
        "id": bind_uuid(row.execution_id),
        "workflow_id": bind_uuid(row.workflow_id),
        "user_id": bind_uuid(row.user_id),
        "input": bind_json(row.input),
        "trigger": bind_json(row.trigger),
        "now": bind_time(row.started_at),
        "rerun_of": bind_uuid(row.rerun_of),
        "rerun_from_node": row.rerun_from_node,
        "version": row.version,
    }


@dataclass
class ClaimedExecution:
    """What a worker needs to run an execution it just claimed."""

    id: uuid.UUID
    workflow_id: uuid.UUID | None
    user_id: uuid.UUID | None
    graph: Mapping[str, Any]
    input: Any
    trigger: Mapping[str, Any]
    decisions: Mapping[str, Any]
    lease_token: int
    cancel_requested: bool
    rerun_of: uuid.UUID | None
    rerun_from_node: str | None
    started_at: dt.datetime | None
    claimed_at: dt.datetime
    # Claimed before (crash, hand-back, approval): finished node runs may exist.
    resumed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def claimed_from(row: Mapping[Any, Any]) -> ClaimedExecution:
    return ClaimedExecution(
        id=row["id"],
        workflow_id=row["workflow_id"],
        user_id=row["user_id"],
        graph=row["graph"] or {"nodes": [], "edges": []},
        input=row["input"],
        trigger=row["trigger"] or {},
        decisions=row["decisions"] or {},
        lease_token=row["lease_token"],
        cancel_requested=row["cancel_requested"],
        rerun_of=row["rerun_of"],
        rerun_from_node=row["rerun_from_node"],
        started_at=row["started_at"],
        claimed_at=row["claimed_at"],
        resumed=row["lease_token"] > 1,
    )


@dataclass
class Claim:
    executions: list[ClaimedExecution]
    # Pending executions were seen but left (the limit or user caps): claiming
    # again when a slot frees up may find work without any new signal.
    more_pending: bool
    # PostgreSQL: users whose executions were left because racing claimers could
    # take them past their cap; the claim takes them again under per-user locks.
    contended: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True)
class LeaseState:
    """A worker's view of one of its leases after a heartbeat."""

    held: bool
    cancel_requested: bool = False


@dataclass(frozen=True)
class Outcome:
    """The final (or paused) state a worker writes for an execution."""

    execution_id: uuid.UUID
    lease_token: int
    status: ExecutionStatus
    output: Any = None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    waiting_on: Sequence[str] = ()


def status_event(outcome: Outcome) -> dict[str, Any]:
    return settled_payload(
        outcome.status.value, outcome.output, outcome.error, list(outcome.waiting_on)
    )


def settled_payload(status: str, output: Any, error: str | None, waiting_on: Any) -> dict[str, Any]:
    """What a settled execution's status event and `?wait` answers carry."""
    payload: dict[str, Any] = {"status": status}
    if error is not None:
        payload["error"] = error
    if status == ExecutionStatus.COMPLETED.value:
        payload["output"] = output
    if status == ExecutionStatus.WAITING.value:
        payload["waiting_on"] = list(waiting_on or [])
    return payload


@dataclass(frozen=True)
class ReapedExecution:
    id: uuid.UUID
    previous_owner: str | None
    lost_leases: int
    failed: bool


@dataclass(frozen=True)
class Backlog:
    """Pending executions, and when the oldest of them was started (None if none)."""

    pending: int
    oldest_started_at: dt.datetime | None


BACKLOG_QUERY = text(BACKLOG).columns(column("pending", Integer), column("oldest", DateTime()))
