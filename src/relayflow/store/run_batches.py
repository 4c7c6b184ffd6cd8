"""One transaction for the writes of many running executions (the worker's journal).

Each execution's share is written only while this worker still holds its lease:
the fence locks the rows first, so the lease cannot change before the commit.

Two ways to write a batch, with the same rows:
- `write_run_batch`: statement by statement in the caller's session and
  transaction (SQLite, and any session).
- `write_run_batch_pg`: PostgreSQL, one statement on the direct asyncpg pool,
  its own transaction. The fence, the outcomes, the node runs and the events are
  data-modifying CTEs of that statement: atomic like the transaction above, but
  one round trip instead of seven (BEGIN, fence, node runs inserted and updated,
  events, outcomes, COMMIT) and no SQLAlchemy session around it, which cost the
  worker more CPU than the statement itself. Rows travel as one array per column.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import NodeRunStatus, utcnow
from relayflow.store import completions, events, executions, signals
from relayflow.store.db import Database
from relayflow.store.direct_pg import NumberedStatement
from relayflow.store.events import EventRow
from relayflow.store.executions import Outcome
from relayflow.store.node_runs import UPDATED_COLUMNS, NodeRunWrites, write_node_runs


@dataclass
class RunBatch:
    leases: dict[uuid.UUID, int] = field(default_factory=dict)  # execution -> lease token
    node_runs: NodeRunWrites = field(default_factory=NodeRunWrites)
    events: list[EventRow] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.node_runs or self.events or self.outcomes)

    @property
    def size(self) -> int:
        """How many writes (node-run rows, events, outcomes) it holds."""
        runs = self.node_runs
        return len(runs.inserts) + len(runs.updates) + len(self.events) + len(self.outcomes)

    @property
    def must_be_durable(self) -> bool:
        """Holds a finished node or an outcome: it must reach the disk before commit returns.

        Starts of attempts and events may be lost in a crash of the database server
        itself; they only describe work that will run again.
        """
        if self.outcomes:
            return True
        rows = (*self.node_runs.inserts, *self.node_runs.updates)
        return any(row["status"] != NodeRunStatus.RUNNING.value for row in rows)

    def only(self, keep: set[uuid.UUID]) -> RunBatch:
        """The part of this batch that belongs to the executions in `keep`."""
        return RunBatch(
            leases={k: v for k, v in self.leases.items() if k in keep},
            node_runs=NodeRunWrites(
                inserts=[r for r in self.node_runs.inserts if r["execution_id"] in keep],
                updates=[r for r in self.node_runs.updates if r["execution_id"] in keep],
            ),
            events=[e for e in self.events if e[0] in keep],
            outcomes=[o for o in self.outcomes if o.execution_id in keep],
        )


@dataclass(frozen=True)
class BatchWritten:
    """What became of a batch: executions whose lease was gone (nothing of theirs was
    written), and completions that were repeats (`store.completions`)."""

    lost: set[uuid.UUID] = field(default_factory=set)
    repeated_completions: int = 0


async def write_run_batch(session: AsyncSession, batch: RunBatch) -> BatchWritten:
    """Write the batch for the executions whose lease is still held."""
    if not batch.must_be_durable:
        await executions.commit_without_waiting_for_disk(session)
    held, lost = await executions.fence(session, batch.leases)
    if lost:
        batch = batch.only(held)
    repeats = await write_node_runs(session, batch.node_runs)
    await events.append_events(session, batch.events, return_ids=False)
    await executions.write_outcomes(session, batch.outcomes)
    return BatchWritten(lost, repeats)


async def write_run_batch_pg(db: Database, batch: RunBatch) -> BatchWritten:
    """`write_run_batch` as one PostgreSQL statement, committed when it returns."""
    pool = await db.direct_pg().connections()
    row = await pool.fetchrow(_BATCH.sql, *_BATCH.arguments(_batch_values(batch)))
    assert row is not None
    held = set(row["held"])
    for execution_id in sorted({eid for eid, _, _ in batch.events if eid in held}):
        db.signals.send_committed(signals.EVENTS, str(execution_id))
    # Inserts the unique index turned away (a completion committed concurrently) count too.
    meant = sum(1 for r in batch.node_runs.inserts if r["execution_id"] in held)
    repeats = int(row["repeated"]) + meant - int(row["inserted"])
    return BatchWritten(set(batch.leases) - held, repeats)


# ----------------------------------------------------------------- the statement
class _Parameters:
    """Numbers the statement's parameters by name ($1, $2, ...), each cast to its type."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, name: str, kind: str) -> str:
        if name not in self.names:
            self.names.append(name)
        return f"CAST(${self.names.index(name) + 1} AS {kind})"

    def unnest(self, prefix: str, columns: Mapping[str, str], alias: str) -> str:
        """`unnest($1::t[], ...) AS alias(a, ...)`: one array per column; JSON as text."""
        arrays = ", ".join(
            self(f"{prefix}_{name}", f"{'text' if kind == 'jsonb' else kind}[]")
            for name, kind in columns.items()
        )
        return f"unnest({arrays}) AS {alias}({', '.join(columns)})"


def _value(alias: str, name: str, kind: str) -> str:
    return f"CAST({alias}.{name} AS jsonb)" if kind == "jsonb" else f"{alias}.{name}"


# Column types of the arrays; JSON values travel as text and are cast per row.
_RUN_COLUMNS = {
    "id": "uuid",
    "execution_id": "uuid",
    "node_id": "text",
    "iteration": "integer",
    "attempt": "integer",
    "status": "text",
    "input": "jsonb",
    "output": "jsonb",
    "error": "text",
    "active_handles": "jsonb",
    "started_at": "timestamp",
    "finished_at": "timestamp",
    "duration_ms": "integer",
    "input_tokens": "integer",
    "output_tokens": "integer",
    "cost_usd": "float8",
    "details": "jsonb",
}
_RUN_UPDATE_COLUMNS = {
    "id": "uuid",
    "execution_id": "uuid",
    **{name: _RUN_COLUMNS[name] for name in UPDATED_COLUMNS},
}
_OUTCOME_COLUMNS = {
    "id": "uuid",
    "status": "text",
    "output": "jsonb",
    "error": "text",
    "input_tokens": "integer",
    "output_tokens": "integer",
    "cost_usd": "float8",
    "waiting_on": "jsonb",
    "final": "boolean",
}


def _repeat_guarded(alias: str, run: str, column: str, note: str, *, other_row: str = "") -> str:
    """`column`'s value for a run that is a repeat completion (`store.completions`)."""
    value = _value(alias, column, _RUN_COLUMNS[column])
    repeat = {"status": f"'{completions.REPEATED_STATUS}'", "error": note}[column]
    return f"""CASE WHEN {alias}.status = 'completed' AND EXISTS (
            SELECT 1 FROM node_runs d
            WHERE d.execution_id = {run}.execution_id AND d.node_id = {run}.node_id
              AND d.iteration = {run}.iteration AND d.status = 'completed'{other_row})
        THEN {repeat} ELSE {value} END"""  # noqa: S608 (names and casts only)


_GUARDED = ("status", "error")  # the columns a repeat completion changes


def _batch_statement() -> NumberedStatement:
    p = _Parameters()
    now = p("now", "timestamp")
    note = p("repeat_note", "text")
    run_values = ", ".join(
        _repeat_guarded("r", "r", c, note) if c in _GUARDED else _value("r", c, k)
        for c, k in _RUN_COLUMNS.items()
    )
    run_updates = ", ".join(
        f"{c} = "
        + (
            _repeat_guarded("u", "n", c, note, other_row=" AND d.id <> n.id")
            if c in _GUARDED
            else _value("u", c, _RUN_COLUMNS[c])
        )
        for c in UPDATED_COLUMNS
    )
    sql = f"""
    WITH outcome AS (
        SELECT * FROM {p.unnest("o", _OUTCOME_COLUMNS, "o")}
    ), lease AS (
        SELECT * FROM {p.unnest("l", {"id": "uuid", "token": "bigint"}, "l")}
    ), fenced AS (
        UPDATE executions e SET updated_at = {now}
        FROM lease l
        WHERE e.id = l.id AND e.lease_token = l.token AND e.status = 'processing'
          AND l.id NOT IN (SELECT id FROM outcome)
        RETURNING e.id
    ), ended AS (
        UPDATE executions e
        SET status = o.status, output = CAST(o.output AS jsonb), error = o.error,
            input_tokens = o.input_tokens, output_tokens = o.output_tokens,
            cost_usd = o.cost_usd, waiting_on = CAST(o.waiting_on AS jsonb),
            updated_at = {now}, lease_owner = NULL, lease_expires_at = NULL,
            completed_at = CASE WHEN o.final THEN {now} ELSE e.completed_at END,
            duration_ms = CASE WHEN o.final
                THEN CAST(extract(epoch FROM {now} - e.started_at) * 1000 AS integer)
                ELSE e.duration_ms END
        FROM lease l JOIN outcome o ON o.id = l.id
        WHERE e.id = l.id AND e.lease_token = l.token AND e.status = 'processing'
        RETURNING e.id
    ), held AS (
        SELECT id FROM fenced UNION ALL SELECT id FROM ended
    ), new_runs AS (
        INSERT INTO node_runs ({", ".join(_RUN_COLUMNS)})
        SELECT {run_values} FROM {p.unnest("r", _RUN_COLUMNS, "r")}
        WHERE r.execution_id IN (SELECT id FROM held)
        ON CONFLICT (execution_id, node_id, iteration) WHERE status = 'completed' DO NOTHING
        RETURNING error
    ), changed_runs AS (
        UPDATE node_runs n SET {run_updates}
        FROM {p.unnest("u", _RUN_UPDATE_COLUMNS, "u")}
        WHERE n.id = u.id AND u.execution_id IN (SELECT id FROM held)
        RETURNING n.error
    ), new_events AS (
        INSERT INTO execution_events (execution_id, kind, payload, created_at)
        SELECT v.execution_id, v.kind, CAST(v.payload AS jsonb), {now}
        FROM unnest({p("v_execution_id", "uuid[]")}, {p("v_kind", "text[]")},
                    {p("v_payload", "text[]")}) WITH ORDINALITY AS v(execution_id, kind, payload, n)
        WHERE v.execution_id IN (SELECT id FROM held)
        ORDER BY v.n
    )
    SELECT set_config('synchronous_commit', {p("durability", "text")}, true) AS durability,
           ARRAY(SELECT id FROM held) AS held,
           (SELECT count(*) FROM new_runs) AS inserted,
           (SELECT count(*) FROM new_runs WHERE error = {note})
           + (SELECT count(*) FROM changed_runs WHERE error = {note}) AS repeated
    """  # noqa: S608 (only names and casts from the constants above; values are parameters)
    return NumberedStatement(sql, tuple(p.names))


_BATCH = _batch_statement()
# Notes on the statement:
# - An execution with an outcome is fenced by the outcome's own UPDATE (`ended`):
#   one statement must not update a row twice.
# - Node runs and events are written only for executions whose row the statement
#   locked (`held`), so their event ids are drawn under that lock, in the given
#   order (ORDER BY the array position), as `events.append_events` requires.
# - `synchronous_commit` is set for this statement's own transaction: batches of
#   starts and events do not wait for the disk (see `RunBatch.must_be_durable`).
# - JSON is written as SQLAlchemy's JSON type writes it (json.dumps; None as JSON null).
# - A completion of a node already recorded completed is written as a repeat
#   (`store.completions`): the EXISTS reads the statement's snapshot, and the unique
#   index's ON CONFLICT turns away what committed after it (counted by the caller).


def _columns(
    prefix: str, columns: Mapping[str, str], rows: Sequence[Mapping[str, Any]]
) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for name, kind in columns.items():
        column = [row[name] for row in rows]
        values[f"{prefix}_{name}"] = [json.dumps(v) for v in column] if kind == "jsonb" else column
    return values


def _outcome_rows(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    return [
        {
            "id": o.execution_id,
            "status": o.status.value,
            "output": o.output,
            "error": o.error,
            "input_tokens": o.input_tokens,
            "output_tokens": o.output_tokens,
            "cost_usd": o.cost_usd,
            "waiting_on": None if o.status.is_final else list(o.waiting_on),
            "final": o.status.is_final,
        }
        for o in outcomes
    ]


def _batch_values(batch: RunBatch) -> dict[str, Any]:
    updates = [{**row, "id": row["row_id"]} for row in batch.node_runs.updates]
    leases = [{"id": eid, "token": token} for eid, token in batch.leases.items()]
    return {
        "now": utcnow(),
        "durability": "on" if batch.must_be_durable else "off",
        "repeat_note": completions.REPEATED_NOTE,
        "v_execution_id": [eid for eid, _, _ in batch.events],
        "v_kind": [kind for _, kind, _ in batch.events],
        "v_payload": [json.dumps(dict(payload)) for _, _, payload in batch.events],
        **_columns("l", {"id": "uuid", "token": "bigint"}, leases),
        **_columns("o", _OUTCOME_COLUMNS, _outcome_rows(batch.outcomes)),
        **_columns("r", _RUN_COLUMNS, batch.node_runs.inserts),
        **_columns("u", _RUN_UPDATE_COLUMNS, updates),
    }
