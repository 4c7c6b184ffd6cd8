"""PostgreSQL's run batch: the fence, the outcomes, the node runs and the events of a
journal's batch in one statement."""

from __future__ import annotations

from collections.abc import Mapping

from relayflow.store import completions
from relayflow.store.node_runs import UPDATED_COLUMNS
from relayflow.store.queue.drivers import NumberedStatement


# ----------------------------------------------------------------- run batches
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
RUN_COLUMNS = {
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
RUN_UPDATE_COLUMNS = {
    "id": "uuid",
    "execution_id": "uuid",
    **{name: RUN_COLUMNS[name] for name in UPDATED_COLUMNS},
}
OUTCOME_COLUMNS = {
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
LEASE_COLUMNS = {"id": "uuid", "token": "bigint"}


def _repeat_guarded(alias: str, run: str, column: str, note: str, *, other_row: str = "") -> str:
    """`column`'s value for a run that is a repeat completion (`store.completions`)."""
    value = _value(alias, column, RUN_COLUMNS[column])
    repeat = {"status": f"'{completions.REPEATED_STATUS}'", "error": note}[column]
    # OFFSET 0 keeps the look-up per row, along uq_node_runs_completed. Without it the
    # planner may hash every completed node run instead, which it does when its
    # statistics say the table is small (a new database before autovacuum's first
    # ANALYZE): each batch then read all of them (33k rows, ~40 ms, after a minute).
    return f"""CASE WHEN {alias}.status = 'completed' AND EXISTS (
            SELECT 1 FROM node_runs d
            WHERE d.execution_id = {run}.execution_id AND d.node_id = {run}.node_id
              AND d.iteration = {run}.iteration AND d.status = 'completed'{other_row}
            OFFSET 0)
        THEN {repeat} ELSE {value} END"""  # noqa: S608 (names and casts only)


_GUARDED = ("status", "error")  # the columns a repeat completion changes


def _run_batch_statement() -> NumberedStatement:
    p = _Parameters()
    now = p("now", "timestamp")
    note = p("repeat_note", "text")
    run_values = ", ".join(
        _repeat_guarded("r", "r", c, note) if c in _GUARDED else _value("r", c, k)
        for c, k in RUN_COLUMNS.items()
    )
    run_updates = ", ".join(
        f"{c} = "
        + (
            _repeat_guarded("u", "n", c, note, other_row=" AND d.id <> n.id")
            if c in _GUARDED
            else _value("u", c, RUN_COLUMNS[c])
        )
        for c in UPDATED_COLUMNS
    )
    sql = f"""
    WITH outcome AS (
        SELECT * FROM {p.unnest("o", OUTCOME_COLUMNS, "o")}
    ), lease AS (
        SELECT * FROM {p.unnest("l", LEASE_COLUMNS, "l")}
    ), locked AS (
        -- The rows as they are once locked: their lease cannot change until the commit.
        -- The fence and the outcomes test these, not the tables' own columns, so each
        -- update finds its rows by primary key: a test of executions.status let the
        -- planner scan the status index instead, whose dead entries from a burst of
        -- runs cost 50-60 ms per batch on a table autovacuum had not yet visited.
        -- Each row is looked up (and locked) by its id, in id order: a lateral with a
        -- LIMIT cannot become a join, so a plan made while the table was small (the
        -- generic plan of this prepared statement, kept until the table is analyzed)
        -- cannot scan the whole table instead; on a new database that scan grew to
        -- 1.6 ms per batch within seconds.
        SELECT e.id, e.lease_token, e.status
        FROM (SELECT id FROM lease ORDER BY id) l
        CROSS JOIN LATERAL (
            SELECT x.id, x.lease_token, x.status FROM executions x
            WHERE x.id = l.id LIMIT 1 FOR NO KEY UPDATE
        ) e
    ), fenced AS (
        UPDATE executions e SET updated_at = {now}
        FROM locked k JOIN lease l ON l.id = k.id
        WHERE e.id = k.id AND k.lease_token = l.token AND k.status = 'processing'
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
        FROM locked k JOIN lease l ON l.id = k.id JOIN outcome o ON o.id = k.id
        WHERE e.id = k.id AND k.lease_token = l.token AND k.status = 'processing'
        RETURNING e.id
    ), held AS (
        SELECT id FROM fenced UNION ALL SELECT id FROM ended
    ), new_runs AS (
        INSERT INTO node_runs ({", ".join(RUN_COLUMNS)})
        SELECT {run_values} FROM {p.unnest("r", RUN_COLUMNS, "r")}
        WHERE r.execution_id IN (SELECT id FROM held)
        ON CONFLICT (execution_id, node_id, iteration) WHERE status = 'completed' DO NOTHING
        RETURNING error
    ), changed_runs AS (
        UPDATE node_runs n SET {run_updates}
        FROM {p.unnest("u", RUN_UPDATE_COLUMNS, "u")}
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


# The fence, the outcomes, the node runs and the events of a run batch as
# data-modifying CTEs of one statement: atomic like a transaction, one round trip.
# - The executions' rows are locked first, in id order (`locked`), as the lease
#   renewal locks them: two statements taking the same rows in different orders
#   deadlock (seen under load between the journal and the heartbeat).
# - An execution with an outcome is fenced by the outcome's own UPDATE (`ended`):
#   one statement must not update a row twice.
# - Node runs and events are written only for executions whose row the statement
#   locked (`held`), so their event ids are drawn under that lock, in the given
#   order (ORDER BY the array position), as `events.append_events` requires.
# - JSON is written as SQLAlchemy's JSON type writes it (json.dumps; None as JSON null).
# - A completion of a node already recorded completed is written as a repeat
#   (`store.completions`): the EXISTS reads the statement's snapshot, and the unique
#   index's ON CONFLICT (migration 0007) turns away what committed after it (counted
#   by the caller).
PG_RUN_BATCH = _run_batch_statement()
