"""Every statement of the queue's hot paths, named, in one place.

Statements written for one database are named after it (`PG_...`, `SQLITE_...`);
where both databases run the same idea, a mapping by dialect name
(`"postgresql"`, `"sqlite"`) holds both, built from one definition where the SQL
allows. Parameters are `:name` (SQLAlchemy's `text()` and sqlite3 take them as
is); `NumberedStatement.from_named` turns them into asyncpg's `$1, $2, ...`.
"""

from __future__ import annotations

from collections.abc import Mapping

from relayflow.store import completions
from relayflow.store.node_runs import UPDATED_COLUMNS
from relayflow.store.queue.drivers import NumberedStatement

POSTGRES, SQLITE = "postgresql", "sqlite"


# ----------------------------------------------------------------- the pending row
# THE definition of a new execution: the graph pinned as {nodes, edges} and copied
# server-side (the graph never travels to Python and back): the workflow's draft
# (its own graph) when `:version` is NULL, else that saved version's graph; the
# version it runs; every other column from its server default. Every start writes
# it: webhooks (the published version), API starts, schedules, reruns. A version
# asked for that does not exist (any more) writes nothing. Values are bound as the
# driver takes them (`rows.pending_params`).
def _pending_row(
    *,
    jsonb: str,
    draft_graph: str,
    typed: Mapping[str, str],
    claimed_by: str | None = None,
    given: Mapping[str, str] | None = None,
    joins: str = "",
) -> str:
    """`claimed_by`: the lease's values (owner, token, expiry, claimed at) for a row
    written already claimed; else the row is pending. `given`: SQL expressions for
    some values instead of parameters (over tables added by `joins`)."""

    def v(name: str) -> str:
        if given and name in given:
            return given[name]
        return f"CAST(:{name} AS {typed[name]})" if name in typed else f":{name}"

    lease_columns = ", lease_owner, lease_token, lease_expires_at, claimed_at"
    return f"""
INSERT INTO executions (id, workflow_id, status, input, graph, trigger, user_id,
                        started_at, updated_at, rerun_of, rerun_from_node, workflow_version
                        {lease_columns if claimed_by else ""})
SELECT {v("id")}, f.id, {"'processing'" if claimed_by else "'pending'"},
       {jsonb.format(":input")},
       CASE WHEN {v("version")} IS NULL THEN {draft_graph} ELSE v.graph END,
       {jsonb.format(":trigger")}, {v("user_id")}, {v("now")}, {v("now")},
       {v("rerun_of")}, {v("rerun_from_node")}, COALESCE({v("version")}, f.draft_version)
       {", " + claimed_by if claimed_by else ""}
FROM workflows f {joins}
LEFT JOIN workflow_versions v ON v.workflow_id = f.id AND v.number = {v("version")}
"""  # noqa: S608 (built from constants only)


_PG_TYPED = {
    "id": "uuid",
    "user_id": "uuid",
    "rerun_of": "uuid",
    "now": "timestamp",
    "rerun_from_node": "text",
    "version": "integer",
}
_SQLITE_GRAPH = (
    "json_object('nodes', json(COALESCE(f.nodes, '[]')), 'edges', json(COALESCE(f.edges, '[]')))"
)
PENDING_ROW_FROM = {
    POSTGRES: _pending_row(
        jsonb="CAST({} AS jsonb)",
        draft_graph="jsonb_build_object('nodes', COALESCE(f.nodes, '[]'::jsonb), "
        "'edges', COALESCE(f.edges, '[]'::jsonb))",
        typed=_PG_TYPED,
    ),
    SQLITE: _pending_row(jsonb="{}", draft_graph=_SQLITE_GRAPH, typed={}),
}
_OF_WORKFLOW = {
    POSTGRES: "WHERE f.id = CAST(:workflow_id AS uuid)"
    " AND (CAST(:version AS integer) IS NULL OR v.id IS NOT NULL)",
    SQLITE: "WHERE f.id = :workflow_id AND (:version IS NULL OR v.id IS NOT NULL)",
}
PENDING_ROW = {name: sql + _OF_WORKFLOW[name] for name, sql in PENDING_ROW_FROM.items()}
PG_PENDING_ROW = NumberedStatement.from_named(PENDING_ROW[POSTGRES])

# SQLite: the same row claimed at once by this process's worker (a `?wait` request
# whose worker has a free slot), if its user runs fewer than `:cap` executions.
# Exact because SQLite runs one writer at a time. Returns what the worker needs.
# (The index named: SQLite's planner, without statistics, took the user's index
# and read their whole history.)
_UNDER_THE_CAP = f"""{_OF_WORKFLOW[SQLITE]}
  AND (SELECT count(*) FROM executions r INDEXED BY ix_executions_processing_user_id
       WHERE r.status = 'processing' AND r.user_id = :user_id) < :cap
RETURNING graph
"""  # noqa: S608 (built from constants only)
_CLAIMED_BY = ":owner, 1, :expires, :now"
SQLITE_PENDING_ROW_CLAIMED = (
    _pending_row(jsonb="{}", draft_graph=_SQLITE_GRAPH, typed={}, claimed_by=_CLAIMED_BY)
    + _UNDER_THE_CAP
)

# With an Idempotency-Key (PostgreSQL): the key and the row in one statement (one
# implicit transaction). The key is taken, or a key past its window taken over,
# and only then is the pending row written. A live key held by another delivery
# makes the statement wait for it, then write nothing.
PG_CLAIM_KEY_AND_INSERT = NumberedStatement.from_named(
    f"""
WITH claim AS (
  INSERT INTO idempotency_keys (webhook_id, key, execution_id, created_at)
  VALUES (:webhook_id, :key, :id, :now)
  ON CONFLICT (webhook_id, key) DO UPDATE
    SET execution_id = EXCLUDED.execution_id, created_at = EXCLUDED.created_at
    WHERE idempotency_keys.created_at < :cutoff
  RETURNING execution_id
), created AS (
  {PENDING_ROW_FROM[POSTGRES]} JOIN claim ON true {_OF_WORKFLOW[POSTGRES]}
  RETURNING id
)
SELECT (SELECT execution_id FROM claim) AS taken, (SELECT id FROM created) AS created
"""  # noqa: S608 (built from constants only)
)
PG_KEY_HOLDER = "SELECT execution_id FROM idempotency_keys WHERE webhook_id = $1 AND key = $2"

# Per-transaction durability: writes safe to lose in a crash of the database
# server (claims, lease renewals, starts of attempts) need not wait for the disk.
RELAX_DURABILITY: Mapping[str, str | None] = {
    POSTGRES: "SET LOCAL synchronous_commit = off",
    SQLITE: None,
}


# ----------------------------------------------------------------- intake reads
_PG_FIND_WEBHOOK = """
SELECT w.id, w.workflow_id, f.user_id AS owner_id, w.api_key, w.enabled, w.allow_query_key,
       w.require_signature, w.signing_secret_salt, w.rate_limit_per_minute,
       p.number AS published_version,
       CASE WHEN w.api_key = :key_digest THEN
         jsonb_path_query_first(p.graph -> 'nodes', '$[*] ? (@.type == "input")')
           -> 'data' -> 'schema'
       END AS input_schema
FROM webhooks w JOIN workflows f ON f.id = w.workflow_id
LEFT JOIN workflow_versions p ON p.workflow_id = f.id AND p.number = f.published_version
WHERE w.id = :webhook_id
"""
PG_FIND_WEBHOOK = NumberedStatement.from_named(_PG_FIND_WEBHOOK)
# The look-up, and the pending row in the same statement when the delivery needs no
# check the database cannot make (a plain delivery: the right key where it is
# accepted, enabled, published, no rate limit, no signing secret, no input schema,
# and no Idempotency-Key, which the caller knows). One round trip for most deliveries;
# the others go on with the webhook read here. `created` is the new row's id, or NULL.
PG_FIND_WEBHOOK_AND_START = NumberedStatement.from_named(
    f"""
WITH hook AS ({_PG_FIND_WEBHOOK}), created AS (
  {
        _pending_row(
            jsonb="CAST({} AS jsonb)",
            draft_graph="NULL",
            typed=_PG_TYPED,
            given={
                "version": "h.published_version",
                "user_id": "h.owner_id",
                "rerun_of": "CAST(NULL AS uuid)",
                "rerun_from_node": "CAST(NULL AS text)",
            },
            joins="JOIN hook h ON h.workflow_id = f.id",
        )
    }
  WHERE v.id IS NOT NULL AND h.api_key = :key_digest AND h.enabled
    AND (h.allow_query_key OR NOT CAST(:key_in_query AS boolean))
    AND NOT h.require_signature AND h.signing_secret_salt IS NULL
    AND COALESCE(h.rate_limit_per_minute, 0) = 0
    AND (jsonb_typeof(h.input_schema) IS DISTINCT FROM 'object'
         OR h.input_schema = '{{}}'::jsonb)
  RETURNING id
)
SELECT hook.*, (SELECT id FROM created) AS created FROM hook
"""  # noqa: S608 (built from constants only)
)


def _sqlite_input_schema(nodes: str) -> str:
    """The JSON text of `data.schema` of the first `input` node of the JSON array `nodes`
    when it is an object, else NULL (as `input_schema.input_schema_of` reads it): only
    the schema leaves the database, not the graph."""
    return f"""(
  SELECT CASE json_type(n.value, '$.data.schema')
         WHEN 'object' THEN json_extract(n.value, '$.data.schema') END
  FROM json_each({nodes}) AS n
  WHERE CASE WHEN n.type = 'object' THEN json_extract(n.value, '$.type') END = 'input'
  ORDER BY n.key LIMIT 1)"""  # noqa: S608 (built from constants only)


SQLITE_FIND_WEBHOOK = f"""
SELECT w.id, w.workflow_id, f.user_id, w.api_key, w.enabled, w.allow_query_key,
       w.require_signature, w.signing_secret_salt, w.rate_limit_per_minute, p.number,
       CASE WHEN w.api_key = ?2 THEN {_sqlite_input_schema("p.graph, '$.nodes'")} END
FROM webhooks w JOIN workflows f ON f.id = w.workflow_id
LEFT JOIN workflow_versions p ON p.workflow_id = f.id AND p.number = f.published_version
WHERE w.id = ?1
"""  # noqa: S608 (built from constants only)
PG_FIND_STARTER = """
SELECT u.role, u.session_generation,
       f.id AS workflow_id, f.user_id AS owner_id, f.is_public, f.draft_version,
       jsonb_path_query_first(f.nodes, '$[*] ? (@.type == "input")') -> 'data' -> 'schema'
         AS input_schema
FROM users u LEFT JOIN workflows f ON f.id = $2
WHERE u.id = $1
"""
SQLITE_FIND_STARTER = f"""
SELECT u.role, f.id, f.user_id, f.is_public, {_sqlite_input_schema("f.nodes")},
       f.draft_version, u.session_generation
FROM users u LEFT JOIN workflows f ON f.id = ?2
WHERE u.id = ?1
"""  # noqa: S608 (built from constants only)


# ----------------------------------------------------------------- claiming
# Claims are single statements, run outside an explicit transaction (one round
# trip); `synchronous_commit` is set for its own transaction only. Each always
# returns a row: `left_behind` counts pending rows it saw but did not take (the
# limit, user caps), and the claimed columns are NULL when it took none.
#
# Every read goes through the partial indexes on live rows, user by user, in
# index order, so that a claim costs the same whatever the history and however
# long one user's backlog: skipping a user at the cap reads none of their rows
# (a scan in age order over everyone's pending rows would walk that user's whole
# backlog to find the others'). A user's rows are read as `user_id >= u ORDER BY
# user_id, ...` and then filtered to u: only the partial indexes give that order
# over live rows without a sort, so the planner takes them whatever its
# statistics say of users and statuses (with `user_id = u` it took the status or
# age index, or the user's whole history, depending on them).

# The users with pending work: one probe of ix_executions_pending_user_started per
# user, from `:from` (random per claim) upwards and around, at most `:walk` users,
# so that when more users wait than one claim looks at, each gets its turn.
_PENDING_USER_AFTER = """(SELECT user_id, {wrapped} AS wrapped FROM executions
          WHERE status = 'pending' AND user_id > {after} ORDER BY user_id LIMIT 1)"""
_LOWEST_PENDING_USER = """(SELECT user_id, true FROM executions
          WHERE {unless} status = 'pending' AND user_id IS NOT NULL ORDER BY user_id LIMIT 1)"""
# `first UNION ALL second LIMIT 1` runs the second only when the first found nothing.
_WALK_PENDING_USERS = f"""
    walk(user_id, wrapped, step) AS (
        SELECT f.user_id, f.wrapped, 1 FROM (
            {_PENDING_USER_AFTER.format(after="CAST(:from AS uuid)", wrapped="false")}
            UNION ALL {_LOWEST_PENDING_USER.format(unless="")}
            LIMIT 1
        ) AS f
      UNION ALL
        SELECT n.user_id, n.wrapped, w.step + 1
        FROM walk w CROSS JOIN LATERAL (
            {_PENDING_USER_AFTER.format(after="w.user_id", wrapped="w.wrapped")}
            UNION ALL {_LOWEST_PENDING_USER.format(unless="NOT w.wrapped AND")}
            LIMIT 1
        ) AS n
        WHERE w.step < :walk AND NOT (n.wrapped AND n.user_id > CAST(:from AS uuid))
    )"""  # noqa: S608 (built from constants only)
# A user's running executions, counted up to the cap + 1 (ix_executions_processing_user_id).
_RUNNING_OF = """(SELECT count(*) FROM (
            SELECT user_id FROM executions
            WHERE status = 'processing' AND user_id >= {user} ORDER BY user_id LIMIT :cap + 1
        ) AS r WHERE r.user_id = {user})"""
# A user's pending executions, counted up to `:bound` + 1.
_PENDING_OF = """(SELECT count(*) FROM (
            SELECT user_id FROM executions
            WHERE status = 'pending' AND user_id >= {user}
            ORDER BY user_id, started_at, id LIMIT :bound + 1
        ) AS p WHERE p.user_id = {user})"""
# A user's oldest pending executions, locked (rows of the next user read past the
# end of theirs are dropped by the caller's `p.user_id = u.user_id`).
_OLDEST_OF = """LATERAL (
        SELECT id, started_at, user_id FROM executions
        WHERE status = 'pending' AND user_id >= {user}
        ORDER BY user_id, started_at, id LIMIT {count}
        FOR UPDATE SKIP LOCKED
    )"""
_DURABILITY = "(SELECT set_config('synchronous_commit', :sc, true)) AS durability"
_NOT_TAKEN = "(SELECT count(*) FROM candidates) - (SELECT count(*) FROM chosen)"
_NONE_CONTENDED = "SELECT CAST(NULL AS uuid[]) AS users"


def _take_candidates(left_behind: str, contended: str = _NONE_CONTENDED) -> str:
    """The oldest `:limit` of the `candidates` claimed, and the answer
    (`claim.pg_claim_result`): SQL for the end of a WITH list."""
    return f"""
    chosen AS (
        SELECT id FROM candidates ORDER BY started_at, id LIMIT :limit
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
    FROM (SELECT {left_behind} AS n) AS left_behind
    CROSS JOIN ({contended}) AS contended
    LEFT JOIN claimed ON true
"""  # noqa: S608 (built from constants only)


# Everyone's work when users have no cap: the oldest pending rows.
_UNCAPPED_CANDIDATES = f"""
    candidates AS (
        SELECT id, started_at FROM executions, {_DURABILITY}
        WHERE status = 'pending'
        ORDER BY started_at LIMIT :limit + 1
        FOR UPDATE OF executions SKIP LOCKED
    )"""  # noqa: S608 (built from constants only)
PG_CLAIM_UNCAPPED = NumberedStatement.from_named(
    f"WITH {_UNCAPPED_CANDIDATES}, {_take_candidates(_NOT_TAKEN)}"
)

# Everyone's work within the per-user cap `:cap`, without locks: a user's rows are
# taken only when running + all their pending rows (those other claimers hold
# included; counted up to `:bound`) fit under the cap, so no set of concurrent
# claims can take them past it. The others are `contended` (claimed for by
# `PG_CLAIM_OF_USERS` under their locks) or at the cap. Rows without a user have no cap.
_CAPPED_CANDIDATES = f"""
    per_user AS (
        SELECT w.user_id, {_RUNNING_OF.format(user="w.user_id")} AS running,
               {_PENDING_OF.format(user="w.user_id")} AS backlog
        FROM walk w
    ), candidates AS (
        SELECT p.id, p.started_at, p.user_id
        FROM per_user u CROSS JOIN {_DURABILITY}
        CROSS JOIN {_OLDEST_OF.format(user="u.user_id", count="LEAST(u.backlog, :limit)")} AS p
        WHERE u.running + u.backlog <= :cap AND u.backlog <= :bound AND p.user_id = u.user_id
      UNION ALL
        SELECT id, started_at, CAST(NULL AS uuid) FROM (
            SELECT id, started_at FROM executions
            WHERE status = 'pending' AND user_id IS NULL
            ORDER BY user_id, started_at, id LIMIT :limit + 1
            FOR UPDATE SKIP LOCKED
        ) AS ownerless
    ), unsafe AS (
        SELECT user_id, running FROM per_user
        WHERE running + backlog > :cap OR backlog > :bound
    )"""  # noqa: S608 (built from constants only)
# Every pending row seen (the users' looked at, counted up to the bound, and the
# ownerless candidates) less those taken, and one more when the walk stopped at
# its bound (users it did not reach).
_CAPPED_LEFT_BEHIND = """(SELECT coalesce(sum(backlog), 0) FROM per_user)
        + (SELECT count(*) FROM candidates WHERE user_id IS NULL)
        - (SELECT count(*) FROM chosen)
        + CASE WHEN (SELECT count(*) FROM walk) >= :walk THEN 1 ELSE 0 END"""
PG_CLAIM = NumberedStatement.from_named(
    f"WITH RECURSIVE {_WALK_PENDING_USERS}, {_CAPPED_CANDIDATES}, "  # noqa: S608 (constants)
    + _take_candidates(
        _CAPPED_LEFT_BEHIND,
        contended="SELECT array_agg(user_id) AS users FROM unsafe WHERE running < :cap",
    )
)

# The work of the users `:users` within the cap, under their per-user locks
# (`PG_LOCK_USERS`, same transaction): counted after every earlier lock holder
# committed, so exact.
_ROOM = "GREATEST(LEAST(:cap - u.running, :limit), 0)"
_CANDIDATES_OF_USERS = f"""
    per_user AS (
        SELECT u.user_id, {_RUNNING_OF.format(user="u.user_id")} AS running
        FROM unnest(CAST(:users AS uuid[])) AS u(user_id)
    ), candidates AS (
        SELECT p.id, p.started_at
        FROM per_user u CROSS JOIN {_DURABILITY}
        CROSS JOIN {_OLDEST_OF.format(user="u.user_id", count=_ROOM)} AS p
        WHERE p.user_id = u.user_id
    )"""  # noqa: S608 (built from constants only)
_AT_THE_CAP = "(SELECT count(*) FROM per_user WHERE running >= :cap)"
PG_CLAIM_OF_USERS = NumberedStatement.from_named(
    f"WITH {_CANDIDATES_OF_USERS}, " + _take_candidates(f"{_NOT_TAKEN} + {_AT_THE_CAP}")
)
# Per-user locks for the exact pass, taken in one order so that claimers never
# wait for each other in a cycle; held until the claim commits.
PG_LOCK_USERS = NumberedStatement.from_named(
    """
    SELECT count(pg_advisory_xact_lock(k)) FROM (
        SELECT DISTINCT hashtextextended('relayflow user ' || CAST(u AS text), 0) AS k
        FROM unnest(CAST(:users AS uuid[])) AS u ORDER BY k
    ) AS keys
"""
)
# One reaper at a time across processes (PostgreSQL; held until the pass commits).
REAPER_LOCK_KEY = 0x7266_7265_6170  # "rfreap"
PG_TRY_REAPER_LOCK = f"SELECT pg_try_advisory_xact_lock({REAPER_LOCK_KEY})"
# The outcomes `?wait` answers with (`Queue.settled_outcomes`).
PG_SETTLED = """
SELECT id, status, output, error, waiting_on FROM executions
WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])
"""


# ----------------------------------------------------------------- the backlog
# Pending executions and the oldest one's start: served by the partial index on
# pending rows (migration 0008), so it costs the same whatever the history.
BACKLOG = """
SELECT count(*) AS pending, min(started_at) AS oldest FROM executions WHERE status = 'pending'
"""


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
