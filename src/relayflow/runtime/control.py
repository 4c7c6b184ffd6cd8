"""Starting an execution from the API, and waiting for it to settle (`?wait=SECONDS`).

Both open their own transactions: `start_execution` returns only after the
pending row is committed, so a 202 is never sent for a run that is not safely
queued, and waiting holds no database connection between events.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from relayflow.domain import Actor, ExecutionStatus
from relayflow.input_schema import check_input, input_schema_of
from relayflow.runtime.events import EventBus
from relayflow.store import executions, workflows
from relayflow.store.db import Database
from relayflow.store.models import Execution

STATUS_EVENT = "execution.status"


async def start_execution(
    db: Database, actor: Actor, workflow_id: uuid.UUID, input: Any
) -> Execution:
    """Queue a run of a workflow the actor may read; the run belongs to the actor.

    The input is checked against the JSON Schema of the workflow's `input` node
    (`InvalidInput` naming the field). Returns once the row is committed.
    """
    async with db.transaction() as session:
        workflow = await workflows.get_workflow_graph(session, actor, workflow_id)
        schema = input_schema_of(workflow.nodes)
        if schema is not None:
            check_input(schema, input)
        execution = await executions.create_pending_execution(
            session,
            workflow=workflow,
            input=input,
            trigger={"type": "api", "user_id": str(actor.user_id)},
            user_id=actor.user_id,
        )
    return execution


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
