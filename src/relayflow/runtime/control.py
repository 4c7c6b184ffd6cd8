"""Starting an execution from the API, and waiting for it to settle (`?wait=SECONDS`).

Both open their own transactions: `ExecutionStarter.start` returns only after
the pending row is committed, so a 202 is never sent for a run that is not
safely queued, and waiting holds no database connection between events.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from relayflow import errors
from relayflow.domain import Actor, ExecutionStatus
from relayflow.input_schema import check_input, input_schema_of
from relayflow.runtime.events import EventBus
from relayflow.store import executions, versions, workflows
from relayflow.store.api_starts import start_store_for
from relayflow.store.db import Database
from relayflow.store.direct_pg import PendingRow
from relayflow.store.models import Execution

STATUS_EVENT = "execution.status"


class ExecutionStarter:
    """Queues runs started over the API. One per process; safe to share."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.store = start_store_for(db)

    async def start(
        self,
        user_id: uuid.UUID,
        workflow_id: uuid.UUID,
        input: Any,
        *,
        version: int | None = None,
        session_generation: int | None = None,
    ) -> PendingRow:
        """Queue a run of a workflow the user may read; the run belongs to the user.

        It runs the draft (what the editor saved last), or the saved `version`
        asked for. The user's role is read now, not taken from their token. The
        input is checked against the JSON Schema of the graph's `input` node
        (`InvalidInput` naming the field). `session_generation`: the one a sign-in
        token carries (None for a personal token, already checked); a token from
        before a password change is refused. Returns once the row is committed.
        """
        found = await self.store.find(user_id, workflow_id)
        if found is None:
            raise errors.Unauthorized("the access token's account no longer exists")
        if session_generation is not None and session_generation != found.session_generation:
            raise errors.Unauthorized("the password was changed since this sign-in; sign in again")
        target = found.target
        actor = Actor(user_id=user_id, role=found.role)
        if target is None or not workflows.may_read(actor, target.owner_id, target.is_public):
            raise errors.NotFound(f"workflow {workflow_id} not found")
        schema = target.input_schema
        if version is not None:
            async with self.db.session() as session:
                chosen = await versions.version_to_run(session, workflow_id, version)
            schema = input_schema_of(chosen.graph.get("nodes"))
        if schema is not None:
            check_input(schema, input)
        row = PendingRow(
            execution_id=uuid.uuid4(),
            workflow_id=workflow_id,
            user_id=user_id,
            input=input,
            trigger={"type": "api", "user_id": str(user_id)},
            # The draft by its number: the run pins exactly the version read here.
            version=version if version is not None else target.draft_version,
        )
        await self.store.create(row)
        return row


def _settles(payload: Any) -> bool:
    """A final status, or a pause at an approval (no use waiting for a person)."""
    try:
        status = ExecutionStatus(str(payload.get("status")))
    except ValueError:
        return False
    return status.is_final or status is ExecutionStatus.WAITING


async def wait_until_settled(
    db: Database, bus: EventBus, execution_id: uuid.UUID, timeout_s: float
) -> Execution:
    """The execution once it finished or paused at an approval, or as it is at the timeout."""
    if timeout_s > 0:
        events = bus.subscribe(execution_id)
        try:
            async with asyncio.timeout(timeout_s):
                async for event in events:
                    if event.kind == STATUS_EVENT and _settles(event.payload):
                        break
        except TimeoutError:
            pass
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:  # end the subscription now, not at garbage collection
                await close()
    async with db.session() as session:
        return await executions.get_execution(session, execution_id)
