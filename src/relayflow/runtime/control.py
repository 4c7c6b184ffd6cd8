"""Starting an execution from the API, and waiting for it to settle (`?wait=SECONDS`).

Both open their own transactions: `ExecutionStarter.start` returns only after
the pending row is committed, so a 202 is never sent for a run that is not
safely queued, and waiting holds no database connection between events.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from relayflow import errors
from relayflow.domain import Actor
from relayflow.ids import time_ordered_id
from relayflow.input_schema import check_input, input_schema_of
from relayflow.runtime.events import EventBus
from relayflow.store import versions, workflows
from relayflow.store.db import Database
from relayflow.store.models import Execution
from relayflow.store.queue.pending import get_execution
from relayflow.store.queue.rows import PendingRow


class StartTrigger(StrEnum):
    """Where a run started over the API says it came from (the trigger's `type`)."""

    API = "api"  # a script, the CLI, another system
    EDITOR = "editor"  # the Run button of the web editor


class ExecutionStarter:
    """Queues runs started over the API. One per process; safe to share."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.queue = db.queue

    async def start(
        self,
        user_id: uuid.UUID,
        workflow_id: uuid.UUID,
        input: Any,
        *,
        version: int | None = None,
        wait: bool = False,
        session_generation: int | None = None,
        trigger: StartTrigger = StartTrigger.API,
    ) -> PendingRow:
        """Queue a run of a workflow the user may read; the run belongs to the user.

        It runs the draft (what the editor saved last), or the saved `version`
        asked for. The user's role is read now, not taken from their token. The
        input is checked against the JSON Schema of the graph's `input` node
        (`InvalidInput` naming the field). `session_generation`: the one a sign-in
        token carries (None for a personal token, already checked); a token from
        before a password change is refused. Returns once the row is committed.
        `wait`: the request waits for the outcome (`Queue.start`). `trigger`: what the
        caller says started it, recorded as the trigger's `type`.
        """
        found = await self.queue.find_starter(user_id, workflow_id)
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
            execution_id=time_ordered_id(),
            workflow_id=workflow_id,
            user_id=user_id,
            input=input,
            trigger={"type": StartTrigger(trigger).value, "user_id": str(user_id)},
            # The draft by its number: the run pins exactly the version read here.
            version=version if version is not None else target.draft_version,
        )
        await self.queue.start(row, wait=wait)
        return row


async def wait_until_settled(
    db: Database, bus: EventBus, execution_id: uuid.UUID, timeout_s: float
) -> Execution:
    """The execution once it finished or paused at an approval, or as it is at the timeout."""
    await bus.outcomes.wait(execution_id, timeout_s)
    async with db.session() as session:
        return await get_execution(session, execution_id)
