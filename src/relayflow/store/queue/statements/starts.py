"""The statements that start executions: the one definition of the pending row, and
the intake's reads (the webhook, the starter) with the starts they carry."""

from __future__ import annotations

from collections.abc import Mapping

from relayflow.store.queue.drivers import NumberedStatement
from relayflow.store.queue.statements import POSTGRES, SQLITE


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
