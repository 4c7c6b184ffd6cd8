"""One transaction for the writes of many running executions (the worker's journal).

Each execution's share is written only while this worker still holds its lease:
the fence locks the rows first, so the lease cannot change before the commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from relayflow.domain import NodeRunStatus
from relayflow.store import events, executions
from relayflow.store.events import EventRow
from relayflow.store.executions import Outcome
from relayflow.store.node_runs import NodeRunWrites, write_node_runs


@dataclass
class RunBatch:
    leases: dict[uuid.UUID, int] = field(default_factory=dict)  # execution -> lease token
    node_runs: NodeRunWrites = field(default_factory=NodeRunWrites)
    events: list[EventRow] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.node_runs or self.events or self.outcomes)

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


async def write_run_batch(session: AsyncSession, batch: RunBatch) -> set[uuid.UUID]:
    """Write the batch for the executions whose lease is still held; returns the lost ones."""
    if not batch.must_be_durable:
        await executions.commit_without_waiting_for_disk(session)
    held, lost = await executions.fence(session, batch.leases)
    if lost:
        batch = batch.only(held)
    await write_node_runs(session, batch.node_runs)
    await events.append_events(session, batch.events, return_ids=False)
    await executions.write_outcomes(session, batch.outcomes)
    return lost
