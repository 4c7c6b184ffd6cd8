"""The execution queue: every statement of the hot path, behind one interface.

`Database.queue` is the implementation for its database, chosen once
(`interface.Queue`: `postgres.PostgresQueue`, `sqlite.SqliteQueue`). By concern:

- `statements`: every statement, named (as procrastinate keeps its queries), a
  module per concern: `starts` (the one definition of a pending row,
  `PENDING_ROW`, and the intake's reads), `claims`, `batches`.
- `rows`: the values that go in and come out.
- `pending`: a new execution in a caller's transaction (schedules, reruns).
- `claim`: pending executions become `processing` under a lease.
- `leases`: renewal, fencing, outcomes, hand-back, reaping.
- `batches`: the worker journal's writes, many executions per transaction.
- `events`, `signals`: execution events and the wake-ups after commits.
- `intake`: what the starts read (webhooks, API starts).
- `drivers`: the asyncpg pool and the aiosqlite connection of the hot paths.

Submodules are imported by name; this package imports none of them itself, so
that `store.db` can use the drivers without pulling the rest in.
"""
