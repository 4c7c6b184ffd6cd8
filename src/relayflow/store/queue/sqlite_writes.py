"""The SQLite queue's hot write transactions in plain SQL: a claim and a run batch,
each run whole on the writer's connection (`DirectSqlite.transaction`).

Through SQLAlchemy's session each of them cost the writer thread about 2.2 ms of
CPU (thread time per transaction under load), where SQLite's own work is tens of
microseconds. Here
the statements are fixed strings and values are encoded by SQLAlchemy's own
bind processors for each column, so rows read back through the ORM exactly like
rows it wrote. The batch writes what the statement-by-statement batch writes
(`batches.write_run_batch`); a test compares the rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from relayflow.domain import utcnow
from relayflow.store import completions, models
from relayflow.store.node_runs import UPDATED_COLUMNS
from relayflow.store.queue import signals
from relayflow.store.queue.batches import BatchWritten, RunBatch
from relayflow.store.queue.claim import USERS_PER_CLAIM
from relayflow.store.queue.drivers import bind_time, bind_uuid, sqlite_binders, sqlite_readers
from relayflow.store.queue.rows import PENDING, PROCESSING, Claim, claimed_from
from relayflow.store.queue.statements.batches import RUN_COLUMNS

Raised = set[tuple[str, str]]
_EXECUTION_IN = sqlite_binders(models.Execution)
_EXECUTION_OUT = sqlite_readers(models.Execution)
_RUN_IN = sqlite_binders(models.NodeRun)
_EVENT_IN = sqlite_binders(models.ExecutionEvent)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


# ----------------------------------------------------------------- claiming
_CLAIMED_COLUMNS = (
    "id", "workflow_id", "user_id", "graph", "input", "trigger", "decisions", "lease_token",
    "cancel_requested", "rerun_of", "rerun_from_node", "started_at", "claimed_at",
)  # fmt: skip


def claim(
    conn: sqlite3.Connection,
    *,
    owner: str,
    limit: int,
    user_concurrency: int | None,
    now: dt.datetime,
    lease_seconds: float,
) -> Claim:
    """The oldest pending executions, within each user's cap, claimed under a lease.
    Runs inside the writer's transaction, which holds the write lock from its start,
    so the counts cannot change before the claim commits."""
    candidates, more_pending = _candidates(conn, limit, user_concurrency)
    if not candidates:
        return Claim([], more_pending=more_pending)
    sql = (
        "UPDATE executions SET status = ?, lease_owner = ?, lease_token = lease_token + 1, "  # noqa: S608
        "lease_expires_at = ?, updated_at = ?, claimed_at = coalesce(claimed_at, ?) "
        f"WHERE id IN ({_marks(len(candidates))}) AND status = ? "
        f"RETURNING {', '.join(_CLAIMED_COLUMNS)}"
    )
    at = bind_time(now)
    expires = bind_time(now + dt.timedelta(seconds=lease_seconds))
    rows = conn.execute(sql, (PROCESSING, owner, expires, at, at, *candidates, PENDING))
    claimed = [
        claimed_from(
            {
                name: _EXECUTION_OUT[name](value)
                for name, value in zip(_CLAIMED_COLUMNS, row, strict=True)
            }
        )
        for row in rows.fetchall()
    ]
    claimed.sort(key=lambda c: (c.started_at or now, str(c.id)))
    return Claim(claimed, more_pending=more_pending)


# Through the partial indexes on live rows, named: SQLite's planner, without
# statistics, would take the status index and sort every pending row.
_PENDING_BY_USER = "FROM executions INDEXED BY ix_executions_pending_user_started"
_PENDING = f"SELECT id, started_at {_PENDING_BY_USER} WHERE status = 'pending'"
_RUNNING_BY_USER = (
    "SELECT user_id, count(*) FROM executions INDEXED BY ix_executions_processing_user_id "
    "WHERE status = 'processing' GROUP BY user_id"
)
# Users' pending rows in index order from a user on ({} is > or >=; '' is below
# every stored id, which SQLite keeps as text).
_PENDING_FROM_USER = (
    f"SELECT id, started_at, user_id {_PENDING_BY_USER} "
    "WHERE status = 'pending' AND user_id {} ? ORDER BY user_id, started_at, id LIMIT ?"
)
_AFTER, _FROM = _PENDING_FROM_USER.format(">"), _PENDING_FROM_USER.format(">=")


def _pending_by_user(
    conn: sqlite3.Connection, start: str, take: int
) -> Iterator[tuple[Any, list[Any]]]:
    """(user, their oldest pending rows, at most `take`) for each user with pending
    executions, in index order from `start` (a stored id) upwards and around once.
    Read `take` rows at a time, so users with a few rows each cost a few queries."""
    after, query, wrapped = start, _AFTER, False
    while True:
        rows = conn.execute(query, (after, take)).fetchall()
        groups = [(user, list(mine)) for user, mine in itertools.groupby(rows, itemgetter(2))]
        query = _AFTER
        for n, (user, mine) in enumerate(groups):
            if wrapped and user > start:
                return
            if n == len(groups) - 1 and len(rows) == take and len(mine) < take:
                after, query = user, _FROM  # their rows may go on: read them again whole
                break
            yield user, mine
            after = user
        else:
            if len(rows) == take:
                continue
            if wrapped:
                return
            after, wrapped = "", True


def _candidates(
    conn: sqlite3.Connection, limit: int, user_concurrency: int | None
) -> tuple[list[Any], bool]:
    """The oldest pending ids (as stored) this claim may take, and whether it leaves
    some. User by user (as PostgreSQL's claim): a user at the cap costs nothing more
    than reading a few of their rows, not a walk over their backlog."""
    if user_concurrency is None:
        rows = conn.execute(
            "SELECT id FROM executions INDEXED BY ix_executions_pending_started_at "
            "WHERE status = 'pending' ORDER BY started_at LIMIT ?",
            (limit + 1,),
        ).fetchall()
        return [row[0] for row in rows[:limit]], len(rows) > limit
    running: dict[Any, int] = dict(conn.execute(_RUNNING_BY_USER).fetchall())
    take = max(min(user_concurrency, limit), 0) + 1  # a share, and whether there is more
    seen: list[tuple[Any, Any]] = []
    more_pending = False
    users = _pending_by_user(conn, bind_uuid(uuid.uuid4()), take)
    for reached, (user, mine) in enumerate(users, start=1):
        room = max(min(user_concurrency - running.get(user, 0), limit), 0)
        seen += [row[:2] for row in mine[:room]]
        more_pending = more_pending or len(mine) > room
        if reached == USERS_PER_CLAIM:  # the users not reached wait for the next claims
            more_pending = True
            break
    ownerless = conn.execute(
        f"{_PENDING} AND user_id IS NULL ORDER BY started_at, id LIMIT ?", (limit + 1,)
    ).fetchall()
    seen += ownerless
    seen.sort(key=lambda row: (row[1], row[0]))
    return [row[0] for row in seen[:limit]], more_pending or len(seen) > limit


# ----------------------------------------------------------------- run batches
_INSERT_RUN = (
    f"INSERT INTO node_runs ({', '.join(RUN_COLUMNS)}) VALUES ({_marks(len(RUN_COLUMNS))})"  # noqa: S608
)
_UPDATE_RUN = f"UPDATE node_runs SET {', '.join(f'{c} = ?' for c in UPDATED_COLUMNS)} WHERE id = ?"  # noqa: S608
_INSERT_EVENT = (
    "INSERT INTO execution_events (execution_id, kind, payload, created_at) VALUES (?, ?, ?, ?)"
)
_OUTCOME_VALUES = (
    "status = ?, output = ?, error = ?, input_tokens = ?, output_tokens = ?, cost_usd = ?, "
    "waiting_on = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL"
)
_OUTCOME_WHERE = "WHERE id = ? AND lease_token = ? AND status = 'processing'"
_FINAL_OUTCOME = (
    f"UPDATE executions SET {_OUTCOME_VALUES}, completed_at = ?, "  # noqa: S608
    "duration_ms = CAST((julianday(?) - julianday(started_at)) * 86400.0 * 1000 AS INTEGER) "
    f"{_OUTCOME_WHERE}"
)
_OPEN_OUTCOME = f"UPDATE executions SET {_OUTCOME_VALUES} {_OUTCOME_WHERE}"  # noqa: S608


def write_batch(conn: sqlite3.Connection, batch: RunBatch) -> tuple[BatchWritten, Raised]:
    """Write the batch for the executions whose lease is still held; returns what was
    written and the signals to send once the transaction committed."""
    now = utcnow()
    held, lost = _fence(conn, batch.leases, now)
    if lost:
        batch = batch.only(held)
    repeats = _write_node_runs(conn, batch)
    raised: Raised = set()
    if batch.events:
        at = _EVENT_IN["created_at"](now)
        payload = _EVENT_IN["payload"]
        conn.executemany(
            _INSERT_EVENT,
            [
                (bind_uuid(eid), kind, payload(dict(values)), at)
                for eid, kind, values in batch.events
            ],
        )
        raised = {(signals.EVENTS, str(eid)) for eid, _, _ in batch.events}
    _write_outcomes(conn, batch, now)
    return BatchWritten(lost, repeats), raised


def _fence(
    conn: sqlite3.Connection, leases: Mapping[uuid.UUID, int], now: dt.datetime
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """`leases.fence`: the executions whose lease token still matches, and the others."""
    if not leases:
        return set(), set()
    ids = list(leases)
    rows = conn.execute(
        f"UPDATE executions SET updated_at = ? WHERE id IN ({_marks(len(ids))}) "  # noqa: S608
        "AND status = 'processing' RETURNING id, lease_token",
        (bind_time(now), *(bind_uuid(i) for i in ids)),
    ).fetchall()
    read_id = _EXECUTION_OUT["id"]
    current = {read_id(row_id): token for row_id, token in rows}
    held = {eid for eid, token in leases.items() if current.get(eid) == token}
    return held, set(leases) - held


def _write_node_runs(conn: sqlite3.Connection, batch: RunBatch) -> int:
    writes = batch.node_runs
    repeats = completions.mark_repeats(writes, _recorded_completions(conn, writes))
    if writes.inserts:
        conn.executemany(_INSERT_RUN, [_run_values(row, RUN_COLUMNS) for row in writes.inserts])
    if writes.updates:
        conn.executemany(
            _UPDATE_RUN,
            [
                (*_run_values(row, UPDATED_COLUMNS), bind_uuid(row["row_id"]))
                for row in writes.updates
            ],
        )
    return repeats


def _run_values(row: Mapping[str, Any], columns: Iterable[str]) -> tuple[Any, ...]:
    return tuple(_RUN_IN[name](row[name]) for name in columns)


def _recorded_completions(
    conn: sqlite3.Connection, writes: Any
) -> dict[completions.CompletionKey, uuid.UUID]:
    executions = completions.completing_executions(writes)
    if not executions:
        return {}
    read_id = _EXECUTION_OUT["id"]
    rows = conn.execute(
        "SELECT id, execution_id, node_id, iteration FROM node_runs "  # noqa: S608
        f"WHERE execution_id IN ({_marks(len(executions))}) AND status = ?",
        (*(bind_uuid(e) for e in executions), completions.COMPLETED),
    ).fetchall()
    return {
        (read_id(execution_id), node_id, iteration): read_id(row_id)
        for row_id, execution_id, node_id, iteration in rows
    }


def _write_outcomes(conn: sqlite3.Connection, batch: RunBatch, now: dt.datetime) -> None:
    """`leases.write_outcomes`: final ones close the execution and drop the lease."""
    if not batch.outcomes:
        return
    at = bind_time(now)
    bind = _EXECUTION_IN
    for final in (True, False):
        rows: list[Sequence[Any]] = []
        for o in batch.outcomes:
            if o.status.is_final is not final:
                continue
            values = (
                o.status.value,
                bind["output"](o.output),
                o.error,
                o.input_tokens,
                o.output_tokens,
                o.cost_usd,
                bind["waiting_on"](None if final else list(o.waiting_on)),
                at,
            )
            where = (bind_uuid(o.execution_id), o.lease_token)
            rows.append((*values, at, at, *where) if final else (*values, *where))
        if rows:
            conn.executemany(_FINAL_OUTCOME if final else _OPEN_OUTCOME, rows)
