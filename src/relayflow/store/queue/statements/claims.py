"""The statements of claims (PostgreSQL; SQLite's are in `sqlite_writes`), the
outcomes `?wait` answers with, and the reaper's lock."""

from __future__ import annotations

from relayflow.store.queue.drivers import NumberedStatement

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
