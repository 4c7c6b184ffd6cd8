"""One transaction for the writes of many running executions (the worker's journal).

Each execution's share is written only while this worker still holds its lease:
the fence locks the rows first, so the lease cannot change before the commit.

Two ways to write a batch, with the same rows (a test compares them):
- `write_run_batch`: statement by statement in a session's transaction (SQLite).
- `statements.batches.PG_RUN_BATCH`: PostgreSQL, one statement on the asyncpg pool, its
  own transaction: the fence, outcomes, node runs and events as data-modifying
  CTEs, one round trip instead of seven and no SQLAlchemy session around it
  (which cost the worker more CPU than the statement itself). Rows travel as one
  array per column (`run_batch_values`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import NodeRunStatus, utcnow
from relayflow.store import completions
from relayflow.store.node_runs import NodeRunWrites, write_node_runs
from relayflow.store.queue import events, leases, signals
from relayflow.store.queue.events import EventRow
from relayflow.store.queue.rows import Outcome, status_event
from relayflow.store.queue.statements.batches import (
    LEASE_COLUMNS,
    OUTCOME_COLUMNS,
    RUN_COLUMNS,
    RUN_UPDATE_COLUMNS,
)

if TYPE_CHECKING:
    from relayflow.store.db import Database
    from relayflow.store.queue.interface import SettledCallbacks


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
        await leases.commit_without_waiting_for_disk(session)
    held, lost = await leases.fence(session, batch.leases)
    if lost:
        batch = batch.only(held)
    repeats = await write_node_runs(session, batch.node_runs)
    # The queue announces the outcomes once the batch committed (`Queue.write_batch`).
    await events.append_events(session, batch.events, return_ids=False, announce_settled=False)
    await leases.write_outcomes(session, batch.outcomes)
    return BatchWritten(lost, repeats)


def announce_settled(
    db: Database, settled: SettledCallbacks, batch: RunBatch, held: set[uuid.UUID]
) -> None:
    """After the batch committed: its outcomes to the waiting requests of this process
    (with their payloads), then to every process (`signals.settled_signal`)."""
    for outcome in batch.outcomes:
        if outcome.execution_id in held:
            payload = status_event(outcome)
            settled.fire(outcome.execution_id, payload)
            db.signals.send_committed(*signals.settled_signal(outcome.execution_id, payload))


# ----------------------------------------------------------------- PostgreSQL values
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


def run_batch_values(batch: RunBatch) -> dict[str, Any]:
    """The parameters of `statements.batches.PG_RUN_BATCH`."""
    updates = [{**row, "id": row["row_id"]} for row in batch.node_runs.updates]
    lease_rows = [{"id": eid, "token": token} for eid, token in batch.leases.items()]
    return {
        "now": utcnow(),
        "durability": "on" if batch.must_be_durable else "off",
        "repeat_note": completions.REPEATED_NOTE,
        "v_execution_id": [eid for eid, _, _ in batch.events],
        "v_kind": [kind for _, kind, _ in batch.events],
        "v_payload": [json.dumps(dict(payload)) for _, _, payload in batch.events],
        **_columns("l", LEASE_COLUMNS, lease_rows),
        **_columns("o", OUTCOME_COLUMNS, _outcome_rows(batch.outcomes)),
        **_columns("r", RUN_COLUMNS, batch.node_runs.inserts),
        **_columns("u", RUN_UPDATE_COLUMNS, updates),
    }
