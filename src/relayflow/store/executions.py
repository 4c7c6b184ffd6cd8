"""The execution queue: creating, claiming, leasing, finishing and reaping executions.

Every write a worker makes after claiming is fenced by the lease token: it only
applies while the row is still `processing` with the token the worker got at
claim time. The token grows on every claim, so a worker whose lease expired and
was taken over can no longer change the execution (`errors.LeaseLost`).

Times are naive UTC from the application clock (`domain.utcnow`), like the
seed's columns; lease expiry therefore tolerates clock skew between machines up
to the lease length.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Table,
    Uuid,
    and_,
    bindparam,
    column,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from relayflow import errors
from relayflow.domain import ExecutionStatus, utcnow
from relayflow.store import events, models, signals
from relayflow.store.direct_pg import NumberedStatement, PendingRow
from relayflow.store.direct_sqlite import INSERT_PENDING_SQL

if TYPE_CHECKING:
    from relayflow.store.db import Database

PENDING = ExecutionStatus.PENDING.value
PROCESSING = ExecutionStatus.PROCESSING.value
_executions = cast(Table, models.Execution.__table__)


# ----------------------------------------------------------------- creating
_INSERT_EXECUTION = insert(_executions)  # one compiled statement, values bound per call


class PinnableWorkflow(Protocol):
    """What a new execution copies from its workflow (an ORM `Workflow` or a lean read)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def nodes(self) -> Any: ...

    @property
    def edges(self) -> Any: ...

    @property
    def draft_version(self) -> int | None: ...


class RunnableVersion(Protocol):
    """A saved version to run instead of the workflow's draft."""

    @property
    def number(self) -> int: ...

    @property
    def graph(self) -> Any: ...


async def create_pending_execution(
    session: AsyncSession,
    *,
    workflow: PinnableWorkflow,
    input: Any,
    trigger: Mapping[str, Any],
    user_id: uuid.UUID | None,
    execution_id: uuid.UUID | None = None,
    rerun_of: uuid.UUID | None = None,
    rerun_from_node: str | None = None,
    version: RunnableVersion | None = None,
) -> models.Execution:
    """Insert a `pending` execution pinning the workflow's graph (its draft, or
    `version` if given), in the caller's transaction.

    Workers are woken when the caller commits. Nothing else is needed for the run
    to be safe: the row is the queue entry.
    """
    now = utcnow()
    values: dict[str, Any] = {
        "id": execution_id or uuid.uuid4(),
        "workflow_id": workflow.id,
        "status": PENDING,
        "input": input,
        "graph": _graph_to_run(workflow, version),
        "workflow_version": workflow.draft_version if version is None else version.number,
        "trigger": dict(trigger),
        "user_id": user_id,
        "started_at": now,
        "updated_at": now,
        "rerun_of": rerun_of,
        "rerun_from_node": rerun_from_node,
        "lease_token": 0,
        "lost_leases": 0,
        "cancel_requested": False,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
    }
    # A plain INSERT (this is the hot path of every trigger), then the row as an
    # object the session knows, as if it had been loaded: no second statement. The
    # columns a new row leaves NULL are set too, so no attribute is left to load.
    await session.execute(_INSERT_EXECUTION, values)
    unset = {column.key: None for column in _executions.columns if column.key not in values}
    execution = models.Execution(**values, **unset)
    make_transient_to_detached(execution)
    session.add(execution)
    await wake_workers(session)
    return execution


def _graph_to_run(workflow: PinnableWorkflow, version: RunnableVersion | None) -> dict[str, Any]:
    if version is None:
        return {"nodes": list(workflow.nodes or []), "edges": list(workflow.edges or [])}
    graph = version.graph if isinstance(version.graph, Mapping) else {}
    return {"nodes": list(graph.get("nodes") or []), "edges": list(graph.get("edges") or [])}


# `direct_sqlite.INSERT_PENDING_SQL` through SQLAlchemy (values typed as the columns):
# for a pending row written in the caller's transaction.
_SQLITE_COPY_TO_PENDING = text(INSERT_PENDING_SQL).bindparams(
    bindparam("id", type_=_executions.c.id.type),
    bindparam("input", type_=_executions.c.input.type),
    bindparam("trigger", type_=_executions.c.trigger.type),
    bindparam("user_id", type_=_executions.c.user_id.type),
    bindparam("now", type_=_executions.c.started_at.type),
    bindparam("workflow_id", type_=_executions.c.workflow_id.type),
    bindparam("version", type_=Integer()),
)


async def copy_to_pending(session: AsyncSession, row: PendingRow) -> bool:
    """SQLite: write `row` as `create_pending_execution` would, in one statement that
    reads the graph itself; False if the workflow does not exist. Wakes workers on commit."""
    result = await session.execute(
        _SQLITE_COPY_TO_PENDING,
        {
            "id": row.execution_id,
            "input": row.input,
            "trigger": row.trigger,
            "user_id": row.user_id,
            "now": row.started_at,
            "workflow_id": row.workflow_id,
            "version": row.version,
        },
    )
    if not getattr(result, "rowcount", 0):
        return False
    await wake_workers(session)
    return True


async def wake_workers(session: AsyncSession) -> None:
    """Tell workers that pending executions exist, once the transaction commits.

    PostgreSQL: NOTIFY `relayflow_work` sent right after the commit (not inside
    the transaction: see `store.signals` for why); SQLite: the in-process signal.
    """
    await signals.signal(session, signals.WORK)


async def request_cancel_signal(session: AsyncSession, execution_id: uuid.UUID) -> None:
    """Tell the worker running `execution_id` to cancel it, once the transaction commits.

    The caller sets `cancel_requested`; this only makes the worker notice at once
    (workers also re-read the flag with every heartbeat).
    """
    await signals.signal(session, signals.CANCEL, str(execution_id))


async def commit_without_waiting_for_disk(session: AsyncSession) -> None:
    """Let this transaction's commit return before PostgreSQL flushes it to disk.

    For writes that are safe to lose in a crash of the database server (not of a
    worker): claims, lease renewals, starts of node attempts, events. The write
    is visible to everyone at once; PostgreSQL flushes its log in order, so the
    next durable commit makes it durable too. A lost claim is harmless: its
    token no longer matches and the execution is simply claimed again.
    """
    if signals.is_postgres_session(session):
        await session.execute(text("SET LOCAL synchronous_commit = off"))


# ----------------------------------------------------------------- claiming
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


_CLAIM_COLUMNS = (
    _executions.c.id,
    _executions.c.workflow_id,
    _executions.c.user_id,
    _executions.c.graph,
    _executions.c.input,
    _executions.c.trigger,
    _executions.c.decisions,
    _executions.c.lease_token,
    _executions.c.cancel_requested,
    _executions.c.rerun_of,
    _executions.c.rerun_from_node,
    _executions.c.started_at,
    _executions.c.claimed_at,
)


_PG_CLAIM_SQL = """
    WITH running AS (
        SELECT user_id, count(*) AS n FROM executions
        WHERE status = 'processing' AND user_id IS NOT NULL
        GROUP BY user_id
    ), preview AS (
        -- Whose are the oldest pending rows? (Read without locking anything.)
        SELECT DISTINCT user_id FROM (
            SELECT user_id FROM executions
            WHERE status = 'pending'
              AND (CAST(:users AS uuid[]) IS NULL OR user_id = ANY(CAST(:users AS uuid[])))
            ORDER BY started_at
            LIMIT :scan
        ) AS oldest
        WHERE user_id IS NOT NULL AND :cap < 2147483647 AND NOT :exact
    ), backlog AS (
        -- Their pending rows, those other claimers hold included: if running + all
        -- of them fit under the cap, no set of concurrent claims can exceed it.
        -- Counted only up to a bound; a user past it goes the exact (locked) way.
        SELECT u.user_id, (
            SELECT count(*) FROM (
                SELECT 1 FROM executions p
                WHERE p.status = 'pending' AND p.user_id = u.user_id
                LIMIT LEAST(:cap, :scan) + 1
            ) AS upto
        ) AS n
        FROM preview u
    ), unsafe AS (
        SELECT b.user_id, coalesce(r.n, 0) AS running FROM backlog b
        LEFT JOIN running r ON r.user_id = b.user_id
        WHERE coalesce(r.n, 0) + b.n > :cap OR b.n > LEAST(:cap, :scan)
    ), candidates AS (
        SELECT id, user_id, started_at
        FROM executions, (SELECT set_config('synchronous_commit', :sc, true)) AS durability
        WHERE status = 'pending'
          AND (CAST(:users AS uuid[]) IS NULL OR user_id = ANY(CAST(:users AS uuid[])))
          AND (user_id IS NULL OR user_id NOT IN (SELECT user_id FROM unsafe))
        ORDER BY started_at
        LIMIT :scan
        FOR UPDATE OF executions SKIP LOCKED
    ), ranked AS (
        SELECT c.id, c.user_id, c.started_at, coalesce(r.n, 0) AS running,
               row_number() OVER (PARTITION BY c.user_id ORDER BY c.started_at, c.id) AS rank
        FROM candidates c LEFT JOIN running r ON r.user_id = c.user_id
    ), chosen AS (
        SELECT id FROM ranked
        WHERE user_id IS NULL OR running + rank <= :cap
        ORDER BY started_at, id
        LIMIT :limit
    ), claimed AS (
        UPDATE executions e
        SET status = 'processing', lease_owner = :owner, lease_token = e.lease_token + 1,
            lease_expires_at = :expires, updated_at = :now,
            claimed_at = coalesce(e.claimed_at, :now)
        FROM chosen WHERE e.id = chosen.id
        RETURNING e.id, e.workflow_id, e.user_id, e.graph, e.input, e.trigger, e.decisions,
                  e.lease_token, e.cancel_requested, e.rerun_of, e.rerun_from_node,
                  e.started_at, e.claimed_at
    )
    SELECT claimed.*, left_behind.n AS left_behind, contended.users AS contended
    FROM (
        SELECT (SELECT count(*) FROM candidates) - (SELECT count(*) FROM chosen)
               + (SELECT count(*) FROM unsafe) AS n
    ) AS left_behind
    CROSS JOIN (
        SELECT array_agg(user_id) AS users FROM unsafe WHERE running < :cap
    ) AS contended
    LEFT JOIN claimed ON true
"""
# Per-user locks for the exact pass, taken in one order so that claimers never
# wait for each other in a cycle; held until the claim commits.
_PG_LOCK_USERS_SQL = """
    SELECT count(pg_advisory_xact_lock(k)) FROM (
        SELECT DISTINCT hashtextextended('relayflow user ' || CAST(u AS text), 0) AS k
        FROM unnest(CAST(:users AS uuid[])) AS u ORDER BY k
    ) AS keys
"""
_PG_LOCK_USERS_DIRECT = NumberedStatement.from_named(_PG_LOCK_USERS_SQL)
_PG_CLAIM = text(_PG_CLAIM_SQL).columns(
    *_CLAIM_COLUMNS, column("left_behind", Integer), column("contended", ARRAY(Uuid()))
)
# The same statement for asyncpg (`claim_pg`): :name parameters become $1, $2, ...
_PG_CLAIM_DIRECT = NumberedStatement.from_named(_PG_CLAIM_SQL)
_JSON_CLAIM_COLUMNS = ("graph", "input", "trigger", "decisions")
# One statement, so a claim may run outside an explicit transaction (one round
# trip). `synchronous_commit` is set for its own transaction only: with
# `wait_for_disk=False` the commit returns before the disk flush, see
# `commit_without_waiting_for_disk`. It always returns a row: `left_behind`
# counts the pending rows it saw but did not take (the limit, user caps), and
# the claimed columns are NULL when it took none.
NO_CAP = 2**31 - 1


@dataclass
class Claim:
    executions: list[ClaimedExecution]
    # Pending executions were seen but left (the limit or user caps): claiming
    # again when a slot frees up may find work without any new signal.
    more_pending: bool
    # PostgreSQL: users whose executions were left because racing claimers could
    # take them past their cap; `claim_pg` claims for them again under locks.
    contended: list[uuid.UUID] = field(default_factory=list)


async def claim_executions(
    session: AsyncSession,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    user_concurrency: int | None = None,
    wait_for_disk: bool = True,
) -> list[ClaimedExecution]:
    """`claim`, without what it tells about the rest of the queue."""
    claim_ = await claim(
        session,
        owner=owner,
        limit=limit,
        lease_seconds=lease_seconds,
        user_concurrency=user_concurrency,
        wait_for_disk=wait_for_disk,
    )
    return claim_.executions


async def claim(
    session: AsyncSession,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    user_concurrency: int | None = None,
    wait_for_disk: bool = True,
) -> Claim:
    """Claim up to `limit` pending executions, oldest first, for `owner`.

    Each claimed row becomes `processing` with a lease until now + lease_seconds
    and a new lease token. Users already running `user_concurrency` executions
    are skipped, and one claim never takes more than their remaining share, even
    when claimers race: on PostgreSQL a user whose backlog could take them past the
    cap is claimed for in a second pass under a per-user lock (their claimers wait
    for each other; everyone else's stay one statement), on SQLite every claim
    holds the write lock while it counts. (Left: a one-statement claim for a user
    well under the cap may still be in flight when a burst of new executions makes
    them contended and a locked pass claims those.) Commit promptly: the rows stay
    locked until then.
    """
    if limit <= 0:
        return Claim([], more_pending=False)
    now = utcnow()
    expires = now + dt.timedelta(seconds=lease_seconds)
    if signals.is_postgres_session(session):
        params = _pg_claim_params(owner, limit, user_concurrency, wait_for_disk, now, expires)

        async def fetch(values: Mapping[str, Any]) -> list[Mapping[str, Any]]:
            return [dict(row._mapping) for row in await session.execute(_PG_CLAIM, values)]

        async def fetch_locked(
            users: list[uuid.UUID], values: Mapping[str, Any]
        ) -> list[Mapping[str, Any]]:
            # In the caller's transaction, which holds the locks until it ends.
            await session.execute(text(_PG_LOCK_USERS_SQL), {"users": users})
            return await fetch(values)

        return await _claim_in_two_passes(params, now, fetch, fetch_locked)
    # SQLite: take the write lock before counting, so that claims in other processes
    # wait and the user caps count what they claimed.
    await session.execute(_SQLITE_TAKE_WRITE_LOCK)
    candidates, more_pending = await _candidate_ids(session, limit, user_concurrency)
    if not candidates:
        return Claim([], more_pending=more_pending)
    statement = (
        update(_executions)
        .where(_executions.c.id.in_(candidates), _executions.c.status == PENDING)
        .values(
            status=PROCESSING,
            lease_owner=owner,
            lease_token=_executions.c.lease_token + 1,
            lease_expires_at=expires,
            updated_at=now,
            claimed_at=func.coalesce(_executions.c.claimed_at, now),
        )
        .returning(*_CLAIM_COLUMNS)
    )
    rows = (await session.execute(statement)).all()
    claimed = [_claimed(row._mapping) for row in rows]
    claimed.sort(key=lambda c: (c.started_at or now, str(c.id)))
    return Claim(claimed, more_pending=more_pending)


async def claim_pg(
    db: Database,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    user_concurrency: int | None = None,
    wait_for_disk: bool = True,
) -> Claim:
    """`claim` on PostgreSQL through the direct asyncpg pool: the same statement, its
    own transaction, without a SQLAlchemy session (whose overhead cost a worker more
    CPU than the claim itself)."""
    if limit <= 0:
        return Claim([], more_pending=False)
    now = utcnow()
    expires = now + dt.timedelta(seconds=lease_seconds)
    params = _pg_claim_params(owner, limit, user_concurrency, wait_for_disk, now, expires)
    pool = await db.direct_pg().connections()

    async def fetch(values: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return await _fetch_claim(pool, values)

    async def fetch_locked(
        users: list[uuid.UUID], values: Mapping[str, Any]
    ) -> list[Mapping[str, Any]]:
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetchval(_PG_LOCK_USERS_DIRECT.sql, users)
            return await _fetch_claim(conn, values)

    return await _claim_in_two_passes(params, now, fetch, fetch_locked)


FetchClaim = Callable[[Mapping[str, Any]], Awaitable[list[Mapping[str, Any]]]]
FetchLockedClaim = Callable[
    [list[uuid.UUID], Mapping[str, Any]], Awaitable[list[Mapping[str, Any]]]
]


async def _claim_in_two_passes(
    params: Mapping[str, Any], now: dt.datetime, fetch: FetchClaim, fetch_locked: FetchLockedClaim
) -> Claim:
    """The one-statement claim, then, for the users it found contended (whose backlog
    could take them past their cap if claimers raced), the same claim under their
    per-user locks, counting what the lock holders before it committed."""
    fast = _pg_claim_result(await fetch(params), now)
    room = int(params["limit"]) - len(fast.executions)
    if not fast.contended or room <= 0:
        return fast
    users = sorted(fast.contended)
    exact = dict(params, users=users, exact=True, limit=room, scan=room * 4)
    locked = _pg_claim_result(await fetch_locked(users, exact), now)
    executions = sorted(
        [*fast.executions, *locked.executions], key=lambda c: (c.started_at or now, str(c.id))
    )
    return Claim(executions, more_pending=fast.more_pending or locked.more_pending)


async def _fetch_claim(conn: Any, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    records = await conn.fetch(_PG_CLAIM_DIRECT.sql, *_PG_CLAIM_DIRECT.arguments(params))
    rows: list[Mapping[str, Any]] = []
    for record in records:
        row = dict(record)
        for name in _JSON_CLAIM_COLUMNS:  # asyncpg hands JSON over as text
            if row[name] is not None:
                row[name] = json.loads(row[name])
        rows.append(row)
    return rows


def _pg_claim_params(
    owner: str,
    limit: int,
    user_concurrency: int | None,
    wait_for_disk: bool,
    now: dt.datetime,
    expires: dt.datetime,
) -> dict[str, Any]:
    return {
        "sc": "on" if wait_for_disk else "off",
        # Look a little further than `limit` so one busy user does not starve others.
        "scan": limit * 4,
        "cap": user_concurrency if user_concurrency is not None else NO_CAP,
        "limit": limit,
        "users": None,  # all users (the exact pass names its users)
        "exact": False,
        "owner": owner,
        "expires": expires,
        "now": now,
    }


def _pg_claim_result(rows: Sequence[Mapping[Any, Any]], now: dt.datetime) -> Claim:
    """The claim statement's rows: one per claimed execution, or one of NULLs."""
    more_pending = bool(rows and rows[0]["left_behind"])
    contended = list(rows[0]["contended"] or []) if rows else []
    claimed = [_claimed(row) for row in rows if row["id"] is not None]
    claimed.sort(key=lambda c: (c.started_at or now, str(c.id)))
    return Claim(claimed, more_pending=more_pending, contended=contended)


def _claimed(row: Mapping[Any, Any]) -> ClaimedExecution:
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


# Writes nothing, but makes the transaction SQLite's one writer until it ends.
_SQLITE_TAKE_WRITE_LOCK = text("UPDATE executions SET status = status WHERE 0")


async def _candidate_ids(
    session: AsyncSession, limit: int, user_concurrency: int | None
) -> tuple[list[uuid.UUID], bool]:
    """SQLite: the oldest pending ids this claim may take, and whether it leaves some.

    SQLite runs one writer at a time; the UPDATE that follows re-checks `pending`,
    so two processes never claim the same row.
    """
    e = _executions
    base = select(e.c.id, e.c.user_id).where(e.c.status == PENDING).order_by(e.c.started_at)
    if user_concurrency is None:
        ids = [row.id for row in (await session.execute(base.limit(limit + 1))).all()]
        return ids[:limit], len(ids) > limit
    running: dict[uuid.UUID, int] = dict(
        (
            await session.execute(
                select(e.c.user_id, func.count())
                .where(e.c.status == PROCESSING, e.c.user_id.is_not(None))
                .group_by(e.c.user_id)
            )
        ).all()
    )
    full = [user for user, n in running.items() if n >= user_concurrency]
    query = base.where(or_(e.c.user_id.is_(None), e.c.user_id.not_in(full))) if full else base
    # Look a little further than `limit` so one busy user does not starve the others.
    chosen: list[uuid.UUID] = []
    rows = (await session.execute(query.limit(limit * 4))).all()
    for row in rows:
        if row.user_id is not None:
            if running.get(row.user_id, 0) >= user_concurrency:
                continue
            running[row.user_id] = running.get(row.user_id, 0) + 1
        chosen.append(row.id)
        if len(chosen) == limit:
            break
    # Users at their cap may have pending executions this query did not look at.
    return chosen, bool(full) or len(rows) > len(chosen)


# ----------------------------------------------------------------- leases
@dataclass(frozen=True)
class LeaseState:
    """A worker's view of one of its leases after a heartbeat."""

    held: bool
    cancel_requested: bool = False


async def renew_leases(
    session: AsyncSession,
    *,
    owner: str,
    tokens: Mapping[uuid.UUID, int],
    lease_seconds: float,
) -> dict[uuid.UUID, LeaseState]:
    """Extend the leases `owner` still holds; report lost ones and cancel requests."""
    if not tokens:
        return {}
    now = utcnow()
    e = _executions
    rows = (
        await session.execute(
            update(e)
            .where(
                e.c.id.in_(list(tokens)),
                e.c.lease_owner == owner,
                e.c.status == PROCESSING,
            )
            .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
            .returning(e.c.id, e.c.lease_token, e.c.cancel_requested)
        )
    ).all()
    found = {row.id: row for row in rows}
    states: dict[uuid.UUID, LeaseState] = {}
    for execution_id, token in tokens.items():
        row = found.get(execution_id)
        if row is None or row.lease_token != token:
            states[execution_id] = LeaseState(held=False)
        else:
            states[execution_id] = LeaseState(held=True, cancel_requested=row.cancel_requested)
    return states


async def cancel_requested_among(
    session: AsyncSession, execution_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these executions someone asked to cancel (a cheap read for polling)."""
    if not execution_ids:
        return set()
    e = _executions
    rows = await session.execute(
        select(e.c.id).where(e.c.id.in_(list(execution_ids)), e.c.cancel_requested.is_(True))
    )
    return {row.id for row in rows}


async def fence(
    session: AsyncSession, leases: Mapping[uuid.UUID, int]
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Lock the executions whose lease token still matches; return (held, lost).

    Must be the first write of the transaction: the row locks it takes keep a
    claim or the reaper from changing the lease until this transaction ends.
    """
    if not leases:
        return set(), set()
    e = _executions
    rows = (
        await session.execute(
            update(e)
            .where(e.c.id.in_(list(leases)), e.c.status == PROCESSING)
            .values(updated_at=utcnow())
            .returning(e.c.id, e.c.lease_token)
        )
    ).all()
    current = {row.id: row.lease_token for row in rows}
    held = {eid for eid, token in leases.items() if current.get(eid) == token}
    return held, set(leases) - held


async def fence_one(session: AsyncSession, execution_id: uuid.UUID, token: int) -> None:
    """`fence` for one execution; raises `errors.LeaseLost` if the lease is gone."""
    _, lost = await fence(session, {execution_id: token})
    if lost:
        raise errors.LeaseLost(f"execution {execution_id}: this worker no longer holds its lease")


# ----------------------------------------------------------------- finishing
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
    payload: dict[str, Any] = {"status": outcome.status.value}
    if outcome.error is not None:
        payload["error"] = outcome.error
    if outcome.status is ExecutionStatus.COMPLETED:
        payload["output"] = outcome.output
    if outcome.status is ExecutionStatus.WAITING:
        payload["waiting_on"] = list(outcome.waiting_on)
    return payload


def _duration_ms_since_start(now: Any, *, postgres: bool) -> ColumnElement[int]:
    """Milliseconds from the row's started_at to `now`, computed by the database."""
    started = _executions.c.started_at
    seconds: ColumnElement[Any]
    if postgres:
        seconds = func.extract("epoch", now - started)
    else:
        seconds = (func.julianday(now) - func.julianday(started)) * 86400.0
    return cast_(seconds * 1000, Integer)


_OUTCOME_COLUMNS = (
    "status",
    "output",
    "error",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "waiting_on",
)


async def write_outcomes(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Write outcomes of executions whose lease the transaction holds (`fence` first).

    Final outcomes set completed_at and duration_ms (from started_at) and drop the
    lease; `waiting` keeps the execution open for an approval. Usage and cost are
    the totals over all node runs, as the executor reports them.
    """
    if not outcomes:
        return
    e = _executions
    now = bindparam("b_now", type_=DateTime())
    postgres = signals.is_postgres_session(session)
    for final in (True, False):
        rows = [
            {
                "b_id": o.execution_id,
                "b_token": o.lease_token,
                "b_now": utcnow(),
                "b_status": o.status.value,
                "b_output": o.output,
                "b_error": o.error,
                "b_input_tokens": o.input_tokens,
                "b_output_tokens": o.output_tokens,
                "b_cost_usd": o.cost_usd,
                "b_waiting_on": None if final else list(o.waiting_on),
            }
            for o in outcomes
            if o.status.is_final is final
        ]
        if not rows:
            continue
        values: dict[str, Any] = {
            name: bindparam(f"b_{name}", type_=e.c[name].type) for name in _OUTCOME_COLUMNS
        }
        values.update(updated_at=now, lease_owner=None, lease_expires_at=None)
        if final:
            values.update(
                completed_at=now, duration_ms=_duration_ms_since_start(now, postgres=postgres)
            )
        statement = (
            update(e)
            .where(
                e.c.id == bindparam("b_id"),
                e.c.lease_token == bindparam("b_token"),
                e.c.status == PROCESSING,
            )
            .values(values)
        )
        await session.execute(statement, rows)


async def finish_execution(session: AsyncSession, outcome: Outcome) -> None:
    """Write one outcome fenced by its lease token, with its status event.

    Raises `errors.LeaseLost` when the lease is no longer held: nothing is written.
    """
    await fence_one(session, outcome.execution_id, outcome.lease_token)
    await write_outcomes(session, [outcome])
    await events.append_events(
        session, [(outcome.execution_id, "execution.status", status_event(outcome))]
    )


# ----------------------------------------------------------------- giving back
async def release_executions(
    session: AsyncSession, leases: Mapping[uuid.UUID, int], *, reason: str
) -> set[uuid.UUID]:
    """Hand executions back to the queue (graceful shutdown); returns those released.

    Not a lost lease: the counter that fails executions is left alone.
    """
    if not leases:
        return set()
    e = _executions
    released: set[uuid.UUID] = set()
    now = utcnow()
    for execution_id, token in leases.items():
        result = await session.execute(
            update(e)
            .where(e.c.id == execution_id, e.c.lease_token == token, e.c.status == PROCESSING)
            .values(status=PENDING, lease_owner=None, lease_expires_at=None, updated_at=now)
            .returning(e.c.id)
        )
        if result.first() is not None:
            released.add(execution_id)
    await events.append_events(
        session,
        [(eid, "execution.status", {"status": PENDING, "reason": reason}) for eid in released],
    )
    if released:
        await wake_workers(session)
    return released


@dataclass(frozen=True)
class ReapedExecution:
    id: uuid.UUID
    previous_owner: str | None
    lost_leases: int
    failed: bool


async def reap_expired_leases(
    session: AsyncSession, *, max_lost_leases: int, limit: int = 500
) -> list[ReapedExecution]:
    """Return executions whose lease expired to `pending`, or fail them after too many losses.

    The reason is recorded as an `execution.status` event. On PostgreSQL rows a
    live transaction holds are skipped (their worker is writing right now).
    """
    e = _executions
    now = utcnow()
    query = (
        select(e.c.id, e.c.lease_owner, e.c.lost_leases, e.c.lease_expires_at, e.c.started_at)
        .where(e.c.status == PROCESSING, e.c.lease_expires_at < now)
        .order_by(e.c.lease_expires_at)
        .limit(limit)
    )
    if signals.is_postgres_session(session):
        query = query.with_for_update(skip_locked=True)
    rows = (await session.execute(query)).all()
    reaped: list[ReapedExecution] = []
    new_events: list[tuple[uuid.UUID, str, dict[str, Any]]] = []
    for row in rows:
        lost = row.lost_leases + 1
        owner = row.lease_owner or "unknown"
        failed = lost >= max_lost_leases
        values: dict[str, Any] = {
            "lost_leases": lost,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now,
        }
        if failed:
            message = (
                f"the execution lost its worker {lost} times (last: {owner}, lease expired); "
                f"giving up after RELAYFLOW_MAX_LOST_LEASES={max_lost_leases}"
            )
            values.update(status=ExecutionStatus.FAILED.value, error=message, completed_at=now)
            if row.started_at is not None:
                values["duration_ms"] = int((now - row.started_at).total_seconds() * 1000)
            payload: dict[str, Any] = {"status": ExecutionStatus.FAILED.value, "error": message}
        else:
            values["status"] = PENDING
            payload = {
                "status": PENDING,
                "reason": f"the lease of worker {owner} expired (lost {lost} time(s)); "
                "the execution will resume on another worker",
            }
        result = await session.execute(
            update(e)
            .where(
                e.c.id == row.id,
                e.c.status == PROCESSING,
                and_(e.c.lease_expires_at.is_not(None), e.c.lease_expires_at < now),
            )
            .values(**values)
            .returning(e.c.id)
        )
        if result.first() is None:
            continue  # renewed meanwhile (SQLite has no row locks to rely on)
        reaped.append(ReapedExecution(row.id, row.lease_owner, lost, failed))
        new_events.append((row.id, "execution.status", payload))
    await events.append_events(session, new_events)
    if any(not r.failed for r in reaped):
        await wake_workers(session)
    return reaped


# ----------------------------------------------------------------- reading
async def get_execution(session: AsyncSession, execution_id: uuid.UUID) -> models.Execution:
    execution = await session.get(models.Execution, execution_id)
    if execution is None:
        raise errors.NotFound(f"execution {execution_id} not found")
    return execution


async def queue_depth(session: AsyncSession) -> int:
    """How many executions wait for a worker."""
    e = _executions
    result = await session.execute(select(func.count()).where(e.c.status == PENDING))
    return int(result.scalar_one())
